/**
 * An HTTP reverse proxy on 127.0.0.1 that forwards every request to `target` untouched and records
 * its method and path: how many round trips an operation really costs on the wire.
 */
import { createServer, request } from "node:http";

export interface CountingProxy {
  url: string;
  /** "GET /bucket?list-type=2&prefix=…" for each request since the last reset. */
  readonly requests: string[];
  reset(): void;
  close(): Promise<void>;
}

export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const upstream = new URL(target);
  const requests: string[] = [];
  const server = createServer((incoming, outgoing) => {
    requests.push(`${incoming.method} ${incoming.url}`);
    const forwarded = request(
      { host: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers: incoming.headers },
      (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      },
    );
    forwarded.on("error", () => outgoing.destroy());
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (typeof address !== "object" || address === null) throw new Error("the counting proxy has no port");
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    reset: () => void requests.splice(0),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
