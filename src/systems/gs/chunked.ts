/**
 * Uploads as a chunked resumable session (session.ts), so that nothing already stored is sent again:
 * - the body goes up in chunks of `chunkSize` (a multiple of 256 KiB), one PUT each; the next
 *   chunk is read from the body while one is on the way (two buffers);
 * - a chunk that fails (a cut connection, a 5xx) is followed by a status query, and the upload goes
 *   on from the byte the server persisted: the bytes it lacks are sent again from the buffer, a
 *   few times with backoff before the write gives up;
 * - with a checkpoint, the session's URI is saved as soon as it opens and again, with the persisted
 *   offset and the CRC32C of the bytes before it, after every chunk. A later attempt (another process
 *   even) continues the same session: `resumableOffset` tells the caller where to start the body,
 *   and the write checks with the server where it really stands.
 * - the object's CRC32C is computed over every byte, the held prefix's carried over from the saved
 *   state, and sent with the last chunk (`X-Goog-Hash`, so GCS refuses a damaged whole) and
 *   compared with what the finished object says; a mismatch removes the object and is a retryable
 *   Conflict, as the transfer's own check would have it.
 * Nothing appears under the name before the last chunk is taken. A failure that may pass, with a
 * checkpoint, keeps the session for the next attempt; anything else (an abort, a broken body,
 * no checkpoint, a last chunk GCS refused for its checksum) cancels it.
 */
import { Readable, addAbortSignal } from "node:stream";
import type { FileMetadata, Storage } from "@google-cloud/storage";
import { StowageError, toStowageError } from "../../errors.js";
import { bytesOf, isBytes, toReadable } from "../body.js";
import type { UploadCheckpoint, UploadState, WriteBody } from "../contract.js";
import { worthKeeping } from "../guard.js";
import { crc32c, crc32cBase64 } from "./crc32c.js";
import { gsError, mapGsError } from "./errors.js";
import type { SessionClient, SessionStatus, SessionTarget } from "./session.js";

const KiB = 1024;
/** GCS takes every chunk but the last in multiples of this. */
export const CHUNK_GRANULE = 256 * KiB;
export const DEFAULT_CHUNK_SIZE = 16 * KiB * KiB;
/** Attempts at one step (a chunk, a status query) that make no progress, before the write fails. */
const MAX_RETRIES = 4;
const BACKOFF_MS = 250;

/** `partSize` rounded up to the 256 KiB GCS wants (16 MiB when not given). */
export function chunkSizeFor(partSize: number | undefined): number {
  if (partSize === undefined) return DEFAULT_CHUNK_SIZE;
  if (!Number.isSafeInteger(partSize) || partSize < 1) {
    throw new StowageError({ code: "InvalidInput", system: "gs", operation: "write", message: `partSize must be a positive integer, got ${partSize}` });
  }
  return Math.ceil(partSize / CHUNK_GRANULE) * CHUNK_GRANULE;
}

/**
 * A session as the journal keeps it: where it is, and how far it was known to be, with that
 * prefix's CRC32C. The URI alone lets its holder upload that object for a week; it stays in the
 * journal under this user's cache directory, as the rest of a transfer's state does.
 */
interface SessionState {
  path: string;
  uri: string;
  chunkSize: number;
  offset: number;
  crc32c: number;
}

const KIND = "gs-session";

function stateOf(session: SessionState): UploadState {
  return { kind: KIND, ...session };
}

/** The state when it is a session of `path`; undefined otherwise. */
export function parseSessionState(path: string, state: UploadState): SessionState | undefined {
  const { kind, uri, chunkSize, offset, crc32c: crc } = state;
  if (kind !== KIND || state.path !== path || typeof uri !== "string" || typeof chunkSize !== "number") return undefined;
  if (typeof offset !== "number" || typeof crc !== "number") return undefined;
  return { path, uri, chunkSize, offset, crc32c: crc };
}

function isGone(error: unknown): boolean {
  const code = mapGsError(error)?.code;
  // 404 and 410: the session expired or never was; 499: it was cancelled.
  const status = (error as { status?: unknown; response?: { status?: unknown } } | null)?.response?.status;
  return code === "NotFound" || status === 410 || status === 499;
}

function retryable(error: unknown, signal: AbortSignal | undefined): boolean {
  return !signal?.aborted && toStowageError(error, { system: "gs", operation: "write" }, mapGsError).retryable;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener("abort", stop);
      resolve();
    }
    function stop() {
      clearTimeout(timer);
      reject(signal!.reason);
    }
    signal?.addEventListener("abort", stop, { once: true });
  });
}

/** The status of the session, asked again while failures may pass. */
async function queryWithRetries(sessions: SessionClient, uri: string, signal: AbortSignal | undefined): Promise<SessionStatus> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await sessions.query(uri, signal);
    } catch (error) {
      if (attempt > MAX_RETRIES || !retryable(error, signal) || isGone(error)) throw error;
      await sleep(BACKOFF_MS * 2 ** (attempt - 1), signal);
    }
  }
}

/**
 * How many leading bytes of the object the saved session holds and the state vouches for (its
 * recorded offset, whose CRC32C it carries), so the next attempt starts its body there; 0 when
 * the session is gone, finished, or holds less than recorded.
 */
export async function resumableOffset(sessions: SessionClient, path: string, state: UploadState, size: number, signal?: AbortSignal): Promise<number> {
  const saved = parseSessionState(path, state);
  if (!saved || saved.offset <= 0 || saved.offset >= size) return 0;
  try {
    const status = await queryWithRetries(sessions, saved.uri, signal);
    return !status.done && status.persisted >= saved.offset ? saved.offset : 0;
  } catch (error) {
    if (isGone(error)) return 0;
    throw error;
  }
}

export async function discardSession(sessions: SessionClient, path: string, state: UploadState): Promise<void> {
  const saved = parseSessionState(path, state);
  if (saved) await sessions.cancel(saved.uri);
}

/** Fills buffers from the body's chunks; bytes can be put back in front (what a chunk must send again). */
class ChunkReader {
  readonly #pending: Buffer[] = [];
  #ended = false;
  constructor(private readonly chunks: AsyncIterator<Uint8Array | string>) {}

  async #next(): Promise<Buffer | undefined> {
    const pending = this.#pending.shift();
    if (pending) return pending;
    if (this.#ended) return undefined;
    const next = await this.chunks.next();
    if (next.done) {
      this.#ended = true;
      return undefined;
    }
    const value = next.value;
    return typeof value === "string" ? Buffer.from(value) : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }

  unshift(bytes: Buffer): void {
    if (bytes.length > 0) this.#pending.unshift(bytes);
  }

  /** Fills `buffer` as far as the body goes; says how many bytes, and whether the body ends with them. */
  async fill(buffer: Buffer): Promise<{ filled: number; last: boolean }> {
    let filled = 0;
    while (filled < buffer.length) {
      const chunk = await this.#next();
      if (!chunk) return { filled, last: true };
      const copied = chunk.copy(buffer, filled);
      filled += copied;
      if (copied < chunk.length) this.unshift(chunk.subarray(copied));
    }
    const after = await this.#next();
    if (!after) return { filled, last: true };
    this.unshift(after);
    return { filled, last: false };
  }

  /** Reads `count` bytes without keeping them, folding them into `crc`. */
  async skip(count: number, crc: number): Promise<{ skipped: number; crc: number }> {
    let skipped = 0;
    while (skipped < count) {
      const chunk = await this.#next();
      if (!chunk) break;
      const used = Math.min(chunk.length, count - skipped);
      crc = crc32c(chunk.subarray(0, used), crc);
      skipped += used;
      if (used < chunk.length) this.unshift(chunk.subarray(used));
    }
    return { skipped, crc };
  }
}

export interface ChunkedUploadOptions {
  /** The system path, for the saved state and errors. */
  path: string;
  target: SessionTarget;
  chunkSize: number;
  /** The object's size when the caller knows it: a smaller object gets smaller buffers. */
  size?: number | undefined;
  /** The whole body's MD5 (hex), when the caller knows it: GCS checks it too. */
  md5?: string | undefined;
  checkpoint?: UploadCheckpoint | undefined;
  signal?: AbortSignal | undefined;
}

/** Where the upload stands: the session, the offset of the body's next byte, and the CRC32C before it. */
interface Position {
  uri: string;
  chunkSize: number;
  offset: number;
  crc: number;
}

export async function uploadChunked(storage: Storage, sessions: SessionClient, body: WriteBody, options: ChunkedUploadOptions): Promise<FileMetadata> {
  const { signal, checkpoint, path } = options;
  const source = isBytes(body) ? Readable.from(slices(bytesOf(body)), { objectMode: false }) : toReadable(body);
  if (signal) addAbortSignal(signal, source);
  const reader = new ChunkReader(source[Symbol.asyncIterator]() as AsyncIterator<Uint8Array | string>);
  let uri: string | undefined;
  try {
    let position: Position;
    const resume = checkpoint?.resume;
    if (resume) {
      const continued = await continueSession(sessions, reader, path, resume, signal);
      if ("metadata" in continued) return await checked(storage, continued.metadata, continued.position, options);
      position = continued.position;
    } else {
      position = { uri: await sessions.open(options.target, signal), chunkSize: options.chunkSize, offset: 0, crc: 0 };
      checkpoint?.save(stateOf({ path, uri: position.uri, chunkSize: position.chunkSize, offset: 0, crc32c: 0 }));
    }
    uri = position.uri;
    const { metadata, position: end } = await sendChunks(sessions, reader, position, options);
    return await checked(storage, metadata, end, options);
  } catch (error) {
    // Kept only for a next attempt that may succeed; otherwise the session (and what it holds) goes.
    if (uri !== undefined && !(checkpoint && worthKeeping(error, "gs", mapGsError, signal))) await sessions.cancel(uri).catch(() => undefined);
    throw error;
  } finally {
    source.destroy();
  }
}

/**
 * The saved session, where the server says it stands. The body starts at `resume.offset`, the
 * recorded offset whose CRC32C the state holds; what the server persisted beyond it is read from
 * the body (for the CRC32C) but not sent again.
 */
async function continueSession(
  sessions: SessionClient,
  reader: ChunkReader,
  path: string,
  resume: NonNullable<UploadCheckpoint["resume"]>,
  signal: AbortSignal | undefined,
): Promise<{ position: Position } | { metadata: FileMetadata; position: Position }> {
  const saved = parseSessionState(path, resume.state);
  if (!saved) throw gsError("InvalidInput", "write", path, "the upload to resume is not a GCS upload session of this object");
  const conflict = (message: string) => new StowageError({ code: "Conflict", retryable: true, system: "gs", operation: "write", path, message });
  if (saved.offset !== resume.offset) throw conflict(`the upload session was recorded at ${saved.offset} bytes, not ${resume.offset}`);
  let status: SessionStatus;
  try {
    status = await queryWithRetries(sessions, saved.uri, signal);
  } catch (error) {
    if (isGone(error)) throw conflict("the upload session is gone");
    throw error;
  }
  const position: Position = { uri: saved.uri, chunkSize: saved.chunkSize, offset: saved.offset, crc: saved.crc32c };
  if (status.done) {
    // The last chunk was taken but its answer lost: the object is there, to be checked whole.
    const rest = await reader.skip(Number.MAX_SAFE_INTEGER, position.crc);
    return { metadata: status.metadata, position: { ...position, offset: position.offset + rest.skipped, crc: rest.crc } };
  }
  if (status.persisted < saved.offset) throw conflict(`the upload session holds ${status.persisted} bytes, not ${saved.offset}`);
  const held = await reader.skip(status.persisted - saved.offset, position.crc);
  if (held.skipped < status.persisted - saved.offset) throw conflict(`the body ends before the ${status.persisted} bytes the session holds`);
  return { position: { ...position, offset: status.persisted, crc: held.crc } };
}

/**
 * Sends the rest of the body chunk by chunk from `start`, reading the next chunk while one is on
 * the way; resolves with the finished object and the position after its last byte.
 */
async function sendChunks(
  sessions: SessionClient,
  reader: ChunkReader,
  start: Position,
  options: ChunkedUploadOptions,
): Promise<{ metadata: FileMetadata; position: Position }> {
  const { signal, checkpoint, path } = options;
  let position = start;
  // A chunk never needs to be longer than what is left of an object of known size.
  const left = options.size === undefined ? Infinity : options.size - start.offset;
  const bufferSize = left > 0 && left < start.chunkSize ? Math.ceil(left / CHUNK_GRANULE) * CHUNK_GRANULE : start.chunkSize;
  let current: Buffer = Buffer.allocUnsafeSlow(bufferSize);
  let spare: Buffer | undefined;
  let { filled, last } = await reader.fill(current);
  let failures = 0;
  for (;;) {
    // The next chunk is read while this one is sent; a failing body fails after this send.
    const prefetch = last
      ? undefined
      : (async (buffer: Buffer) => ({ buffer, ...(await reader.fill(buffer)) }))((spare ??= Buffer.allocUnsafeSlow(bufferSize))).then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        );
    const chunk = current.subarray(0, filled);
    const crcAfter = crc32c(chunk, position.crc);
    const final = last ? { total: position.offset + filled, hashes: hashesOf(crcAfter, options.md5) } : undefined;
    let status: SessionStatus | undefined;
    let failure: unknown;
    try {
      // An abort once the last chunk is on its way could not take the object back: it is let finish.
      status = await sessions.put(position.uri, chunk, position.offset, final, final ? undefined : signal);
    } catch (error) {
      if (final && (error as { status?: unknown } | null)?.status === 400) {
        // GCS refuses a last chunk whose X-Goog-Hash does not match the whole it holds: the
        // session keeps bytes that went wrong somewhere, so it goes, and a next attempt starts afresh.
        await sessions.cancel(position.uri).catch(() => undefined);
        throw new StowageError({
          code: "Conflict",
          retryable: true,
          system: "gs",
          operation: "verify",
          path,
          message: "GCS refused the last chunk: the object it holds does not have the checksum of the bytes sent",
          cause: error,
        });
      }
      if (!retryable(error, signal)) {
        await prefetch;
        throw error;
      }
      failure = error;
    }
    if (!status) {
      if (++failures > MAX_RETRIES) {
        await prefetch;
        throw failure;
      }
      await sleep(BACKOFF_MS * 2 ** (failures - 1), signal);
      status = await queryWithRetries(sessions, position.uri, signal);
    }
    if (status.done) {
      if (!last) await prefetch;
      return { metadata: status.metadata, position: { ...position, offset: position.offset + filled, crc: crcAfter } };
    }
    const persisted = status.persisted;
    if (persisted < position.offset || persisted > position.offset + filled || (last && persisted === position.offset + filled)) {
      await prefetch;
      throw new StowageError({
        code: "Conflict",
        retryable: true,
        system: "gs",
        operation: "write",
        path,
        message: `the upload session holds ${persisted} bytes, expected ${position.offset} to ${position.offset + filled}`,
      });
    }
    const kept = persisted - position.offset;
    if (kept > 0) failures = 0;
    else if (failure === undefined && ++failures > MAX_RETRIES)
      throw gsError("Unavailable", "write", path, "the upload session stores nothing of what is sent");
    const crc = kept === filled ? crcAfter : crc32c(chunk.subarray(0, kept), position.crc);
    position = { ...position, offset: persisted, crc };
    checkpoint?.save(stateOf({ path, uri: position.uri, chunkSize: position.chunkSize, offset: persisted, crc32c: crc }));
    const next = await prefetch;
    if (next && "error" in next) throw next.error;
    if (kept === filled) {
      // The usual case: the chunk is stored whole and the next one is ready.
      [current, spare] = [next!.value.buffer, current];
      ({ filled, last } = next!.value);
      continue;
    }
    // The server kept less than was sent: what it lacks goes again, followed by what was read ahead.
    if (next) reader.unshift(Buffer.from(next.value.buffer.subarray(0, next.value.filled)));
    reader.unshift(Buffer.from(chunk.subarray(kept)));
    ({ filled, last } = await reader.fill(current));
  }
}

function hashesOf(crc: number, md5: string | undefined): string {
  return `crc32c=${crc32cBase64(crc)}${md5 === undefined ? "" : `,md5=${Buffer.from(md5, "hex").toString("base64")}`}`;
}

/**
 * The finished object against what was sent: its size, its CRC32C (and MD5 where the caller gave
 * one). One that does not match is removed (that generation only) and the write fails with a
 * retryable Conflict, as the transfer's own check would have it.
 */
async function checked(storage: Storage, metadata: FileMetadata, end: Position, options: ChunkedUploadOptions): Promise<FileMetadata> {
  const problems: string[] = [];
  if (Number(metadata.size) !== end.offset) problems.push(`GCS stored ${String(metadata.size)} bytes, ${end.offset} were sent`);
  if (typeof metadata.crc32c === "string" && metadata.crc32c !== crc32cBase64(end.crc)) {
    problems.push(`GCS stored CRC32C ${metadata.crc32c}, the bytes sent have ${crc32cBase64(end.crc)}`);
  }
  const md5 = options.md5 === undefined ? undefined : Buffer.from(options.md5, "hex").toString("base64");
  if (md5 !== undefined && typeof metadata.md5Hash === "string" && metadata.md5Hash !== md5) {
    problems.push(`GCS stored MD5 ${metadata.md5Hash}, the body has ${md5}`);
  }
  if (problems.length === 0) return metadata;
  const { bucket, key } = options.target;
  const generation = metadata.generation === undefined ? {} : { ifGenerationMatch: Number(metadata.generation) };
  await storage
    .bucket(bucket)
    .file(key)
    .delete({ ignoreNotFound: true, ...generation })
    .catch(() => undefined);
  throw new StowageError({ code: "Conflict", retryable: true, system: "gs", operation: "verify", path: options.path, message: problems.join("; ") });
}

/** Byte bodies are fed in 1 MiB slices, like streams. */
function* slices(bytes: Buffer): Generator<Buffer> {
  const slice = 1 << 20;
  for (let at = 0; at < bytes.length; at += slice) yield bytes.subarray(at, at + slice);
}
