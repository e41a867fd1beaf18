/**
 * A TCP proxy on 127.0.0.1 in front of a test server that damages what comes down instead of
 * dropping it: one byte flipped at a chosen point of the stream, as a faulty NIC, cable or
 * middlebox might, so a copy's content checks have something to find. It can also cut every
 * connection at a point of the stream, to leave a part file for a resumed copy.
 */
import { connect, createServer, type Socket } from "node:net";

export interface FlipProxy {
  port: number;
  /** Flips the low bit of the byte that comes down `bytes` bytes from now (all connections together); once. */
  flipDownAfter(bytes: number): void;
  /** Destroys every open connection once `bytes` more bytes have come down; once. */
  cutDownAfter(bytes: number): void;
  /** While true, new connections are closed at once. */
  refuse: boolean;
  /** Bytes flipped, and times connections were cut, so far. */
  readonly flips: number;
  readonly cuts: number;
  close(): Promise<void>;
}

export async function startFlipProxy(targetPort: number): Promise<FlipProxy> {
  const sockets = new Set<Socket>();
  let down = 0;
  let flipAt: number | undefined;
  let cutAt: number | undefined;
  let flips = 0;
  let cuts = 0;
  const cutAll = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  const proxy: FlipProxy = {
    port: 0,
    flipDownAfter(bytes) {
      flipAt = down + bytes;
    },
    cutDownAfter(bytes) {
      cutAt = down + bytes;
    },
    refuse: false,
    get flips() {
      return flips;
    },
    get cuts() {
      return cuts;
    },
    close: () =>
      new Promise((resolve) => {
        cutAll();
        server.close(() => resolve());
      }),
  };
  /** The chunk as it goes on, with the byte at the flip mark damaged when the mark falls in it. */
  const damage = (chunk: Buffer): Buffer => {
    const start = down;
    down += chunk.length;
    if (flipAt === undefined || flipAt < start || flipAt >= down) return chunk;
    const damaged = Buffer.from(chunk);
    damaged[flipAt - start]! ^= 0x01;
    flipAt = undefined;
    flips++;
    return damaged;
  };
  const server = createServer((client) => {
    if (proxy.refuse) return void client.destroy();
    const upstream = connect({ host: "127.0.0.1", port: targetPort });
    sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("data", (chunk: Buffer) => {
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on("drain", () => client.resume());
    upstream.on("data", (chunk: Buffer) => {
      if (cutAt !== undefined && down + chunk.length >= cutAt) {
        cutAt = undefined;
        cuts++;
        cutAll();
        return;
      }
      if (!client.write(damage(chunk))) upstream.pause();
    });
    client.on("drain", () => upstream.resume());
    client.on("end", () => upstream.end());
    upstream.on("end", () => client.end());
    client.on("error", drop);
    upstream.on("error", drop);
    client.on("close", drop);
    upstream.on("close", drop);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  proxy.port = typeof address === "object" && address ? address.port : 0;
  return proxy;
}
