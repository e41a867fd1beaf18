/**
 * Uploads. An object appears only when its body is complete:
 * - a small byte body without a signal: a simple upload (`resumable: false`);
 * - anything else, where the endpoint keeps chunked sessions (real GCS): a chunked resumable
 *   session (chunked.ts), which a retry or a later run continues from the last persisted byte;
 * - anything else against an emulator: a single-request resumable upload (no `chunkSize`),
 *   finalized only when the body stream ends. The firebase-tools emulator finalizes a session at
 *   its first PUT whatever its Content-Range says, so it cannot hold a session open between chunks
 *   (see connect()). When the body errors or the signal aborts before the end, the SDK aborts the
 *   request and nothing is finalized.
 * A simple upload cannot be aborted once sent (the SDK keeps sending after its stream is
 * destroyed), so it is used only where nothing can abort it.
 */
import { Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { File, FileMetadata, Storage } from "@google-cloud/storage";
import { bytesOf, isBytes, toReadable } from "../body.js";
import type { WriteBody, WriteOptions } from "../contract.js";
import { chunkSizeFor, uploadChunked } from "./chunked.js";
import { gsError } from "./errors.js";
import { isNotFound } from "./objects.js";
import type { SessionClient } from "./session.js";

/** Bodies up to this size go in one simple request (emulators refuse ~130 MB and more). */
const SIMPLE_UPLOAD_MAX = 8 << 20;
/** Byte bodies are fed in slices, so the body ends (the commit point) only as its last slice is sent. */
const SLICE = 1 << 20;

/** Where chunked sessions go: the endpoint's session client, and the object's bucket and name. */
export interface ChunkedTarget {
  storage: Storage;
  sessions: SessionClient;
  bucket: string;
  key: string;
}

export async function upload(file: File, body: WriteBody, options: WriteOptions, chunked?: ChunkedTarget): Promise<FileMetadata> {
  options.signal?.throwIfAborted();
  const common = {
    ...(options.contentType === undefined ? {} : { contentType: options.contentType }),
    // Real GCS refuses the upload atomically if the object exists; emulators may not (see createGsSystem).
    ...(options.overwrite === false ? { preconditionOpts: { ifGenerationMatch: 0 } } : {}),
  };
  if (isBytes(body) && options.signal === undefined && !options.checkpoint?.resume) {
    const bytes = bytesOf(body);
    if (bytes.length <= SIMPLE_UPLOAD_MAX) {
      await file.save(bytes, { ...common, resumable: false });
      return file.metadata;
    }
  }
  if (chunked) {
    const { storage, sessions, bucket, key } = chunked;
    return uploadChunked(storage, sessions, body, {
      path: `/${bucket}/${key}`,
      target: { bucket, key, contentType: options.contentType, ifAbsent: options.overwrite === false },
      chunkSize: chunkSizeFor(options.partSize),
      size: options.size,
      md5: options.md5,
      checkpoint: options.checkpoint,
      signal: options.signal,
    });
  }
  const source = isBytes(body) ? Readable.from(slices(bytesOf(body)), { objectMode: false }) : toReadable(body);
  await pipeUntilCommitted(source, file.createWriteStream({ ...common, resumable: true }), options.signal);
  return file.metadata;
}

function* slices(bytes: Buffer): Generator<Buffer> {
  for (let at = 0; at < bytes.length; at += SLICE) yield bytes.subarray(at, at + SLICE);
}

/**
 * The upload is committed once the body ends: GCS then finalizes the object. An abort before that
 * fails the body, which aborts the unfinished request; an abort after it could not take the object
 * back, so it is ignored and the write succeeds. Either way a rejected write left no object.
 */
async function pipeUntilCommitted(source: Readable, upload: Writable, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return pipeline(source, upload);
  const abort = () => source.destroy(Object.assign(new Error("the write was aborted", { cause: signal.reason }), { name: "AbortError" }));
  signal.addEventListener("abort", abort, { once: true });
  source.once("end", () => signal.removeEventListener("abort", abort));
  try {
    await pipeline(source, upload);
  } finally {
    signal.removeEventListener("abort", abort);
  }
}

/** `overwrite: false` checked up front, so emulators that ignore preconditions still refuse. */
export async function assertAbsent(file: File, operation: string, path: string): Promise<void> {
  // A token that may create but not read (one downscoped for a copy) cannot look; real GCS still
  // refuses through the precondition.
  const [exists] = await file.exists().catch((error: unknown) => {
    if ((error as { code?: unknown }).code === 403) return [false];
    throw error;
  });
  if (exists) throw gsError("AlreadyExists", operation, path, "the object exists and overwrite is false");
}

/**
 * Creates a missing bucket on first write, as rclone does. Only a definite 404 leads to a create;
 * anything else (no buckets.get permission, say) lets the write itself report what is wrong.
 * Checked once per bucket per system. Emulators make a bucket with its first object and cannot
 * create one on request (the firebase-tools one answers 400 and makes a bucket named "b"), so
 * against an emulator nothing is checked.
 */
export class BucketKeeper {
  readonly #checked = new Map<string, Promise<void>>();
  constructor(
    private readonly storage: Storage,
    private readonly createMissing: boolean,
  ) {}

  ensure(name: string): Promise<void> {
    if (!this.createMissing) return Promise.resolve();
    let check = this.#checked.get(name);
    if (!check) {
      check = this.#ensure(name);
      this.#checked.set(name, check);
    }
    return check;
  }

  async #ensure(name: string): Promise<void> {
    const bucket = this.storage.bucket(name);
    try {
      await bucket.getMetadata();
    } catch (error) {
      if (!isNotFound(error)) return;
      // A racing creator gets 409, and a refused create is reported better by the write itself.
      await bucket.create().catch(() => undefined);
    }
  }
}
