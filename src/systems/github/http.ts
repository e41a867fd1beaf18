/** The HTTP side of smart HTTP: requests to one git server, with auth and kept-alive connections. */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { GitHttpError } from "./errors.js";

export interface GitRequest {
  method: "GET" | "POST";
  url: string;
  headers: Record<string, string>;
  body?: Buffer;
  signal?: AbortSignal | undefined;
}

export class GitHttpClient {
  readonly #authorization: string | undefined;
  readonly #httpAgent = new HttpAgent({ keepAlive: true });
  readonly #httpsAgent = new HttpsAgent({ keepAlive: true });

  /** `token`: sent as Basic `x-access-token:<token>`, GitHub's convention for git over HTTPS. */
  constructor(token: string | undefined) {
    this.#authorization = token ? `Basic ${Buffer.from(`x-access-token:${token}`).toString("base64")}` : undefined;
  }

  /** Sends a request and resolves with the response once its status is known to be 2xx. */
  send(request: GitRequest): Promise<IncomingMessage> {
    const url = new URL(request.url);
    const secure = url.protocol === "https:";
    const headers: Record<string, string> = { "user-agent": "git/2.0 (stowage)", ...request.headers };
    if (this.#authorization) headers.authorization = this.#authorization;
    if (request.body) headers["content-length"] = String(request.body.length);
    return new Promise((resolve, reject) => {
      const req = (secure ? httpsRequest : httpRequest)(url, {
        method: request.method,
        headers,
        agent: secure ? this.#httpsAgent : this.#httpAgent,
        ...(request.signal ? { signal: request.signal } : {}),
      });
      req.once("error", reject);
      req.once("response", (response) => {
        const status = response.statusCode ?? 0;
        if (status >= 200 && status < 300) return resolve(response);
        // Error bodies are short text ("Repository not found."); keep the start for the message.
        const chunks: Buffer[] = [];
        let kept = 0;
        response.on("data", (chunk: Buffer) => {
          if (kept < 1024) {
            chunks.push(chunk);
            kept += chunk.length;
          }
        });
        response.once("end", () => reject(new GitHttpError(status, redact(url), Buffer.concat(chunks).toString("utf8", 0, 1024).trim())));
        response.once("error", reject);
      });
      req.end(request.body);
    });
  }

  close(): void {
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
  }
}

/** The URL without credentials or query, for messages. */
function redact(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}
