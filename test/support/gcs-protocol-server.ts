/**
 * A small HTTP server that speaks the resumable upload protocol of the GCS JSON API as Google
 * documents it (https://cloud.google.com/storage/docs/performing-resumable-uploads), for tests of
 * chunked sessions. The firebase-tools emulator the other gs tests use cannot hold a session open:
 * it finalizes the object at the first PUT, whatever its Content-Range says. This server is not
 * GCS: it is the protocol as documented, checked strictly:
 * - POST /upload/storage/v1/b/<bucket>/o?uploadType=resumable&name=… opens a session (Location);
 * - PUT <session> with `Content-Range: bytes <first>-<last>/<total or *>`: `first` must be what the
 *   session holds, every chunk but the last a multiple of 256 KiB; answered 308 with
 *   `Range: bytes=0-<n>` (none while empty), or, for the last, 200 with the object's metadata
 *   (md5Hash and crc32c, base64) after checking `X-Goog-Hash` (400 when it does not match);
 * - a request cut before its body ends keeps what arrived, rounded down to 256 KiB (as GCS may
 *   persist part of a chunk); `PUT` with `Content-Range: bytes *∕*` answers the status;
 * - DELETE <session> cancels it (499); a cancelled session answers 499, an unknown one 404;
 * - ifGenerationMatch=0 refuses (412) at the last chunk when the object exists.
 * Beside it, what a system needs to stat, list, read and delete objects: bucket and object metadata,
 * `alt=media` (with ranges), listings with prefix and delimiter, and deletes. Requests must carry
 * `Authorization: Bearer <token>`.
 */
import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { CRC32C } from "@google-cloud/storage";

const GRANULE = 256 * 1024;

interface StoredObject {
  data: Buffer;
  generation: number;
  contentType: string;
  updated: string;
}

interface Session {
  bucket: string;
  name: string;
  contentType: string;
  ifAbsent: boolean;
  chunks: Buffer[];
  persisted: number;
  state: "open" | "cancelled" | "done";
  metadata?: Record<string, string>;
}

export interface GcsProtocolServer {
  /** The endpoint, for `gs.endpoint`. */
  url: string;
  /** An object's bytes, or undefined when there is none under that name. */
  object(bucket: string, name: string): Buffer | undefined;
  /** Sessions opened, status queries answered and chunk body bytes received (whole or cut), since the last reset. */
  readonly sessionsOpened: number;
  readonly statusQueries: number;
  readonly bytesReceived: number;
  /** Sessions that are open (neither finished nor cancelled). */
  readonly openSessions: number;
  resetCounters(): void;
  /** Answers the next `count` chunk PUTs with 503, storing nothing of them. */
  failNextChunks(count: number): void;
  /** Stores the next chunk with its first byte flipped, as a faulty hop would deliver it. */
  damageNextChunk(): void;
  /** Whether X-Goog-Hash is checked at the last chunk (as GCS does); off, a damaged object is stored. */
  checkHashes: boolean;
  close(): Promise<void>;
}

const md5Of = (data: Buffer) => createHash("md5").update(data).digest("base64");
function crc32cOf(data: Buffer): string {
  const crc = new CRC32C();
  crc.update(data);
  return crc.toString();
}

function metadataOf(bucket: string, name: string, object: StoredObject): Record<string, string> {
  return {
    kind: "storage#object",
    id: `${bucket}/${name}/${object.generation}`,
    name,
    bucket,
    generation: String(object.generation),
    metageneration: "1",
    contentType: object.contentType,
    size: String(object.data.length),
    md5Hash: md5Of(object.data),
    crc32c: crc32cOf(object.data),
    etag: `${object.generation}`,
    timeCreated: object.updated,
    updated: object.updated,
  };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=UTF-8", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

function error(res: ServerResponse, status: number, message: string): void {
  json(res, status, { error: { code: status, message, errors: [{ message }] } });
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export async function startGcsProtocolServer(options: { token: string }): Promise<GcsProtocolServer> {
  const objects = new Map<string, StoredObject>();
  const sessions = new Map<string, Session>();
  let generation = 1_000;
  let sessionsOpened = 0;
  let statusQueries = 0;
  let bytesReceived = 0;
  let failChunks = 0;
  let damageNext = false;

  const statusAnswer = (res: ServerResponse, session: Session) => {
    if (session.state === "done") return json(res, 200, session.metadata);
    if (session.state === "cancelled") return error(res, 499, "the upload was cancelled");
    const range: Record<string, string> = session.persisted > 0 ? { range: `bytes=0-${session.persisted - 1}` } : {};
    res.writeHead(308, { ...range, "content-length": "0" });
    res.end();
  };

  const finalize = (res: ServerResponse, session: Session, hashes: string | undefined) => {
    const data = Buffer.concat(session.chunks);
    for (const part of api.checkHashes ? (hashes ?? "").split(",") : []) {
      const [kind, value] = part.trim().split(/=(.*)/s) as [string, string | undefined];
      if ((kind === "crc32c" && value !== crc32cOf(data)) || (kind === "md5" && value !== md5Of(data))) {
        return error(res, 400, `the ${kind} of the object does not match X-Goog-Hash`);
      }
    }
    const key = `${session.bucket}/${session.name}`;
    if (session.ifAbsent && objects.has(key)) return error(res, 412, "the object exists");
    const object = { data, generation: ++generation, contentType: session.contentType, updated: new Date().toISOString() };
    objects.set(key, object);
    session.state = "done";
    session.chunks = [];
    session.metadata = metadataOf(session.bucket, session.name, object);
    json(res, 200, session.metadata);
  };

  const putChunk = async (req: IncomingMessage, res: ServerResponse, session: Session) => {
    const range = /^bytes (?:\*|(\d+)-(\d+))\/(\*|\d+)$/.exec(req.headers["content-range"] ?? "");
    if (!range) return error(res, 400, "a Content-Range is required");
    const total = range[3] === "*" ? undefined : Number(range[3]);
    if (range[1] === undefined) {
      await readBody(req);
      if (session.state !== "open") return statusAnswer(res, session);
      if (total === undefined) {
        statusQueries++;
        return statusAnswer(res, session);
      }
      if (total !== session.persisted) return error(res, 400, `the session holds ${session.persisted} bytes, not ${total}`);
      return finalize(res, session, req.headers["x-goog-hash"] as string | undefined);
    }
    if (session.state !== "open") {
      await readBody(req);
      return statusAnswer(res, session);
    }
    const first = Number(range[1]);
    const length = Number(range[2]) - first + 1;
    if (failChunks > 0) {
      failChunks--;
      await readBody(req);
      return error(res, 503, "backend unavailable (injected)");
    }
    // What arrives is counted and, if the request is cut, kept as far as whole 256 KiB granules go.
    const received: Buffer[] = [];
    let size = 0;
    const complete = await new Promise<boolean>((resolve) => {
      req.on("data", (chunk: Buffer) => {
        received.push(chunk);
        size += chunk.length;
        bytesReceived += chunk.length;
      });
      req.on("end", () => resolve(true));
      req.on("close", () => resolve(req.complete));
      req.on("error", () => resolve(false));
    });
    const body = Buffer.concat(received);
    if (first !== session.persisted) {
      if (complete) error(res, 400, `the chunk starts at ${first}, the session holds ${session.persisted} bytes`);
      return;
    }
    if (!complete) {
      const kept = Math.floor(size / GRANULE) * GRANULE;
      session.chunks.push(body.subarray(0, kept));
      session.persisted += kept;
      return;
    }
    if (body.length !== length) return error(res, 400, `Content-Range says ${length} bytes, the body has ${body.length}`);
    const last = total !== undefined && first + length === total;
    if (!last && length % GRANULE !== 0) return error(res, 400, "a chunk that is not the last must be a multiple of 256 KiB");
    if (damageNext && body.length > 0) {
      damageNext = false;
      body[0]! ^= 0x01;
    }
    session.chunks.push(body);
    session.persisted += length;
    if (total !== undefined && session.persisted > total) return error(res, 400, "more bytes than the total");
    if (last) return finalize(res, session, req.headers["x-goog-hash"] as string | undefined);
    statusAnswer(res, session);
  };

  const serveObject = (req: IncomingMessage, res: ServerResponse, bucket: string, name: string, media: boolean) => {
    const object = objects.get(`${bucket}/${name}`);
    if (!object) return error(res, 404, `No such object: ${bucket}/${name}`);
    const metadata = metadataOf(bucket, name, object);
    if (req.method === "DELETE") {
      objects.delete(`${bucket}/${name}`);
      res.writeHead(204);
      return res.end();
    }
    if (!media) return json(res, 200, metadata);
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    const start = range ? Number(range[1]) : 0;
    const end = range && range[2] !== "" ? Number(range[2]) + 1 : object.data.length;
    const bytes = object.data.subarray(start, end);
    res.writeHead(range ? 206 : 200, {
      "content-type": object.contentType,
      "content-length": bytes.length,
      "x-goog-hash": `crc32c=${metadata.crc32c},md5=${metadata.md5Hash}`,
      "x-goog-generation": metadata.generation!,
      "x-goog-stored-content-length": String(object.data.length),
      ...(range ? { "content-range": `bytes ${start}-${start + bytes.length - 1}/${object.data.length}` } : {}),
    });
    res.end(bytes);
  };

  const list = (res: ServerResponse, bucket: string, query: URLSearchParams) => {
    const prefix = query.get("prefix") ?? "";
    const delimiter = query.get("delimiter");
    const items: Record<string, string>[] = [];
    const prefixes = new Set<string>();
    for (const [key, object] of [...objects].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (!key.startsWith(`${bucket}/`)) continue;
      const name = key.slice(bucket.length + 1);
      if (!name.startsWith(prefix)) continue;
      const cut = delimiter ? name.indexOf(delimiter, prefix.length) : -1;
      if (cut >= 0) prefixes.add(name.slice(0, cut + delimiter!.length));
      else items.push(metadataOf(bucket, name, object));
    }
    json(res, 200, { kind: "storage#objects", items, ...(prefixes.size > 0 ? { prefixes: [...prefixes] } : {}) });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.headers.authorization !== `Bearer ${options.token}`) {
      await readBody(req);
      return error(res, 401, "Anonymous caller");
    }
    const url = new URL(req.url ?? "/", "http://server");
    const upload = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
    if (upload) {
      const bucket = decodeURIComponent(upload[1]!);
      const id = url.searchParams.get("upload_id");
      if (req.method === "POST") {
        const metadata = JSON.parse((await readBody(req)).toString() || "{}") as { name?: string; contentType?: string };
        if (url.searchParams.get("uploadType") !== "resumable") return error(res, 400, "only resumable uploads here");
        const name = url.searchParams.get("name") ?? metadata.name;
        if (!name) return error(res, 400, "no object name");
        const sessionId = randomBytes(12).toString("hex");
        sessions.set(sessionId, {
          bucket,
          name,
          contentType: req.headers["x-upload-content-type"]?.toString() ?? metadata.contentType ?? "application/octet-stream",
          ifAbsent: url.searchParams.get("ifGenerationMatch") === "0",
          chunks: [],
          persisted: 0,
          state: "open",
        });
        sessionsOpened++;
        const location = `http://${req.headers.host}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${sessionId}`;
        res.writeHead(200, { location, "content-length": "0" });
        return res.end();
      }
      const session = id ? sessions.get(id) : undefined;
      if (!session) {
        await readBody(req);
        return error(res, 404, "no such upload session");
      }
      if (req.method === "DELETE") {
        if (session.state === "open") session.state = "cancelled";
        return error(res, 499, "the upload was cancelled");
      }
      if (req.method === "PUT") return putChunk(req, res, session);
    }
    await readBody(req);
    const object = /^\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(url.pathname);
    if (object) return serveObject(req, res, decodeURIComponent(object[1]!), decodeURIComponent(object[2]!), url.searchParams.get("alt") === "media");
    const listing = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
    if (listing && req.method === "GET") return list(res, decodeURIComponent(listing[1]!), url.searchParams);
    const bucket = /^\/storage\/v1\/b\/([^/]+)$/.exec(url.pathname);
    if (bucket && req.method === "GET") return json(res, 200, { kind: "storage#bucket", name: decodeURIComponent(bucket[1]!) });
    error(res, 501, `not served here: ${req.method} ${url.pathname}`);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) error(res, 500, String(e));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const api: GcsProtocolServer = {
    url: `http://127.0.0.1:${port}`,
    object: (bucket, name) => objects.get(`${bucket}/${name}`)?.data,
    get sessionsOpened() {
      return sessionsOpened;
    },
    get statusQueries() {
      return statusQueries;
    },
    get bytesReceived() {
      return bytesReceived;
    },
    get openSessions() {
      return [...sessions.values()].filter((s) => s.state === "open").length;
    },
    resetCounters() {
      sessionsOpened = 0;
      statusQueries = 0;
      bytesReceived = 0;
    },
    failNextChunks(count) {
      failChunks = count;
    },
    damageNextChunk() {
      damageNext = true;
    },
    checkHashes: true,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return api;
}
