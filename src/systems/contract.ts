/**
 * The contract every storage system implements. Resources (Folder, Blob, Table) and the transfer
 * engine talk to storage only through this interface, never to a provider SDK.
 *
 * Paths: every path a system takes or returns is POSIX and absolute within that system's namespace.
 * - file:   "/home/me/data/x.bin"
 * - ssh:    "/data/x.bin" on the host ("/~/x.bin" is relative to the login directory)
 * - s3, gs, azure: "/<bucket or container>/<key>"
 * - github: "/<owner>/<repo>@<ref>/<path in repo>"
 * A directory path carries no trailing slash. `list` on an object store treats "/b/dir" as the
 * prefix "dir/".
 *
 * Behaviour every system guarantees (checked by the conformance suite):
 * - `stat` and `read` of a missing path reject with code `NotFound`.
 * - `list` of a missing directory yields nothing.
 * - `delete` of a missing path succeeds.
 * - `write` is atomic where `semantics.atomicWrite` says so: until it resolves, readers see the
 *   previous object or none, never a partial one; a failed or aborted write leaves nothing new.
 * - Every error is a `StowageError` carrying this system's name, the operation and the path.
 */
import type { Readable } from "node:stream";

/** A system's name, e.g. "s3"; each system's descriptor (systems/<name>/index.ts) declares its own. */
export type SystemName = string;

/**
 * What a system's operations mean, where systems differ. Abilities a system may or may not have
 * (server-side copy, exec, range reads, ...) are not flags: they are the extension members below,
 * present or absent, and `systems/extensions.ts` asks for them.
 */
export interface Semantics {
  /** A write becomes visible whole or not at all. */
  readonly atomicWrite: boolean;
  /** `overwrite: false` is enforced by the provider itself, without a check-then-write race. */
  readonly conditionalWrite: boolean;
  /** Directories exist on their own (file, ssh); otherwise they are key prefixes. */
  readonly directories: boolean;
  /**
   * The checksums a write's result carries for what the provider stored (for single-request writes
   * at least), so a transfer can check what arrived without reading it back.
   */
  readonly checksums: readonly ChecksumKind[];
  /** The data is on this machine's own disks. */
  readonly local: boolean;
}

export type ChecksumKind = "md5";

export type EntryType = "file" | "directory";

export interface Stat {
  /** The absolute system path. */
  path: string;
  type: EntryType;
  /** Bytes, for files. */
  size: number;
  mtime?: Date;
  /** Provider entity tag, quotes stripped. */
  etag?: string;
  /** Hex MD5 of the content where the provider keeps one for the whole object. */
  md5?: string;
}

export type Entry = Stat;

export interface ListOptions {
  /** Walk the whole tree below the path. Recursive listings yield files only. */
  recursive?: boolean;
  /** Entries asked of the provider per request (object stores page at 1,000 by default). */
  pageSize?: number;
  signal?: AbortSignal;
}

/** A byte range: `offset` with an optional `length`, or the last `suffix` bytes. */
export type ByteRange = { offset: number; length?: number } | { suffix: number };

export interface ReadOptions {
  signal?: AbortSignal;
}

/** A read of the whole object (no range) or of a range, as systems' own read functions take it. */
export interface RangedReadOptions extends ReadOptions {
  range?: ByteRange | undefined;
}

export type WriteBody = Uint8Array | string | Readable | AsyncIterable<Uint8Array>;

export interface WriteOptions {
  /** Replace an existing object. With `false`, an existing one gives `AlreadyExists`. Default true. */
  overwrite?: boolean;
  /** The body's length when known; lets a system choose a single request or multipart up front. */
  size?: number;
  contentType?: string;
  /** Bytes per part for multipart uploads. */
  partSize?: number;
  /** Parts or requests in flight at once. */
  concurrency?: number;
  signal?: AbortSignal;
  /**
   * The body's MD5 (hex), when the caller computed it before writing. A system whose server can
   * check it sends it along, so a body damaged on the way is refused instead of stored.
   */
  md5?: string;
  /**
   * Makes a large write resumable where the system has `uploads`: the system saves the state of
   * its unfinished upload through the checkpoint, and a failure that may pass (a dropped
   * connection) keeps the pieces already stored instead of discarding them. Aborts and
   * non-retryable failures still leave nothing.
   */
  checkpoint?: UploadCheckpoint;
  /**
   * Checks the stored bytes before they appear under the name: a system with directories (file,
   * ssh), which publishes a part file, calls it once the body is stored whole, with a way to digest
   * ranges of it where it lies. A rejection removes what was stored (no part file is kept) and the
   * write rejects with it. Systems that publish as they store (object stores) need not call it: the
   * caller checks after.
   */
  beforePublish?: (digest: DigestRanges) => Promise<void>;
}

/** A byte range with a known length. */
export interface ByteSpan {
  offset: number;
  length: number;
}

/**
 * A checksum of a byte range that both ends of a copy can compute (./range-checksum.ts): "md5"
 * (hex), zlib's "crc32" (8 hex digits), or POSIX "cksum" ("<crc> <bytes>", as `cksum` prints it).
 */
export type RangeChecksum = "md5" | "crc32" | "cksum";

/**
 * The checksum (MD5 unless `checksum` says otherwise) of each of `ranges` of a written, unpublished
 * file, in order, computed where the file lies (an SSH host runs md5sum or cksum itself rather than
 * send the bytes back).
 */
export type DigestRanges = (ranges: readonly ByteSpan[], options?: { signal?: AbortSignal; checksum?: RangeChecksum }) => Promise<string[]>;

/** What a system needs to find an unfinished upload again: small, opaque, JSON-serialisable. */
export type UploadState = { readonly [key: string]: string | number | boolean };

export interface UploadCheckpoint {
  /** Continue this earlier upload: the body then holds the object's bytes from `offset` on. */
  resume?: { state: UploadState; offset: number };
  /** Called when the upload has state worth keeping (e.g. once its multipart upload exists). */
  save: (state: UploadState) => void;
}

/** Continuing uploads an earlier attempt left unfinished (S3 multipart parts, ...). */
export interface ResumableUploads {
  /**
   * How many leading bytes of the `size`-byte object at `path` the unfinished upload `state` already
   * holds, so the next attempt sends only the rest: always less than `size`; 0 when nothing can be
   * reused (the upload is gone, or belongs elsewhere).
   */
  offset(path: string, state: UploadState, options: { size: number; signal?: AbortSignal }): Promise<number>;
  /**
   * Drops an unfinished upload and what it stored, where the provider has a way (Azure has none for
   * uncommitted blocks: it expires them). Succeeds when it is already gone.
   */
  discard(path: string, state: UploadState): Promise<void>;
}

/** One small file of a batch write, its whole content in memory. */
export interface BatchFile {
  path: string;
  body: Uint8Array;
}

export interface BatchWriteOptions {
  overwrite?: boolean;
  signal?: AbortSignal;
}

/**
 * Writing many small files in one go, where a system has a cheaper way than one `write` each (an
 * SSH host unpacks one archive instead of answering four SFTP requests per file).
 */
export interface BatchWrites {
  /** The most files, and bytes, one call should carry. */
  readonly maxFiles: number;
  readonly maxBytes: number;
  /**
   * Writes every file, each atomically as `write` does, and settles with one outcome per file in
   * order: its result, or the error that stopped that file alone. Rejects when the batch could not
   * run at all (`Unsupported` where the host lacks the tool it needs); no file is then written.
   */
  writeMany(files: readonly BatchFile[], options?: BatchWriteOptions): Promise<Array<WriteResult | Error>>;
}

/**
 * Reading many small files in one go, where a system has a cheaper way than one `read` each (an
 * SSH host packs one archive instead of answering four SFTP requests per file).
 */
export interface BatchReads {
  /** The most files, and bytes, one call should carry. */
  readonly maxFiles: number;
  readonly maxBytes: number;
  /**
   * Reads every file whole and settles with one outcome per path in order: its bytes, or an error
   * for that file alone (the caller reads it again by itself to learn why). Rejects when the batch
   * could not run at all (`Unsupported` where the host lacks the tool it needs).
   */
  readMany(paths: readonly string[], options?: { signal?: AbortSignal }): Promise<Array<Buffer | Error>>;
}

/** Range writers take offsets that are multiples of this (so an SSH host can seek with `dd bs=1M`). */
export const RANGE_WRITE_ALIGN = 1 << 20;

/**
 * One file written as several byte ranges at once, for destinations where a single stream is bound
 * by its window or round trips rather than by bandwidth (an SSH channel carries at most the host's
 * 2 MiB window per round trip). Ranges go into a hidden part file; nothing appears under the name
 * until `commit`.
 */
export interface RangeWriter {
  /**
   * Writes bytes [offset, offset + length) from `body`, which must hold exactly `length` bytes;
   * `offset` is a multiple of RANGE_WRITE_ALIGN. Ranges may be written concurrently.
   * `onWritten`, when given, hears (as the write goes, never decreasing) how many leading bytes of
   * the range are in the part file, so that a later writer may `resume` after them; a writer that
   * cannot know exactly answers fewer, never more.
   */
  write(offset: number, length: number, body: AsyncIterable<Uint8Array>, options?: RangeWriteOptions): Promise<RangeWritten>;
  /** Publishes the file once every range is written, atomically, after checking its size. */
  commit(): Promise<WriteResult>;
  /** Digests ranges of the part file whose writes have resolved (before `commit`), to check it; the other ranges may still be writing. */
  readonly digest: DigestRanges;
  /**
   * The checksums besides MD5 this writer computes cheaply, fastest first: `digest` takes them, and
   * `write` may compute one of its own range where the bytes land (RangeWriteOptions.checksum).
   */
  readonly checksums: readonly RangeChecksum[];
  /** Removes what was written; settles once no range writes any more. */
  abort(): Promise<void>;
  /** Stops, keeping what was written for a later writer to `resume` (settles once no range writes). */
  keep(): Promise<void>;
  /** Finds the part file again (opaque, JSON-serialisable), for `resume` and `uploads.discard`. */
  readonly state: UploadState;
}

export interface RangeWriteOptions {
  signal?: AbortSignal;
  onWritten?: (bytes: number) => void;
  /**
   * Compute this checksum (one of the writer's `checksums`) of the range's bytes where they land,
   * as part of writing them (an SSH host checksums the range on its channel as soon as dd has
   * written it), so that checking costs no pass over the whole part file at the end. A writer that
   * cannot for this range (a host that took it over SFTP, the local disk) answers none: `digest` it then.
   */
  checksum?: RangeChecksum;
}

/** What a range write computed of the bytes that landed: the checksum asked for, where it could. */
export interface RangeWritten {
  checksum?: string;
}

export interface RangeWriterOptions {
  /** The file's final size. */
  size: number;
  /** As for `write`: with `false`, an existing file gives `AlreadyExists`. Default true. */
  overwrite?: boolean;
  /**
   * Continue the part file an earlier writer kept (its `state`): ranges are written into it as they
   * are. Rejects `Conflict` (retryable) when that part file is gone.
   */
  resume?: UploadState;
  signal?: AbortSignal;
}

export interface WriteResult {
  path: string;
  size: number;
  etag?: string;
  /** Hex MD5 of what the provider stored, where its response says (lets a transfer verify for free). */
  md5?: string;
}

export interface DeleteOptions {
  /** Also remove everything below each path that is a directory or prefix. */
  recursive?: boolean;
  signal?: AbortSignal;
}

export interface CopyOptions {
  overwrite?: boolean;
  /** The source's size when the caller knows it (from a listing), so the system need not look it up. */
  size?: number;
  signal?: AbortSignal;
}

export interface ExecOptions {
  /** Sent to the command's standard input, then closed. Secrets go here, never in the command line. */
  stdin?: Uint8Array | string;
  /** Called with each chunk of standard output as it arrives (progress). */
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  signal?: AbortSignal;
}

export interface ExecResult {
  code: number;
  stdout: Buffer;
  stderr: Buffer;
}

/** What a forwarded credential must allow, and for how long: one copy's end, nothing more. */
export interface CredentialScope {
  /** The place the copy reads or writes, a system path: "/bucket", "/bucket/prefix" or one object. */
  path: string;
  /** "read": read and list below `path`; "write": create and write objects below it. */
  access: "read" | "write";
  /** With "write": the copy also lists below `path` (skip modes, `deleteExtras`, the resume journal). */
  list: boolean;
  /** With "write": the copy may replace objects that exist (`overwrite`, the default). */
  replace: boolean;
  /** With "write": the copy also deletes below `path` (`deleteExtras`). */
  delete: boolean;
  /** How long the copy may take, in milliseconds: the credential should expire soon after. */
  lifetimeMs: number;
}

/** Credentials for another process, and how far they reach. */
export interface ExportedCredentials {
  /** Environment variables in the provider's own conventions. */
  env: Record<string, string>;
  /** True when narrowed to the scope asked for (bucket or container, access, lifetime). */
  scoped: boolean;
  /** Why they are not scoped (or not as narrowly as asked). */
  reason?: string;
  /** When they stop working, where known. */
  expiresAt?: Date;
}

/** The core every system implements: find, list and read what it holds. */
export interface System extends Partial<Writes>, Partial<Extensions> {
  readonly name: SystemName;
  /** Identifies the provider connection, e.g. "ssh:me@gpu-box:22"; equal ids can copy server-side. */
  readonly id: string;
  readonly semantics: Semantics;

  stat(path: string, options?: { signal?: AbortSignal }): Promise<Stat>;
  list(path: string, options?: ListOptions): AsyncIterable<Entry>;
  /** The whole object; resolves once it is known to exist, so `NotFound` surfaces before any byte. */
  read(path: string, options?: ReadOptions): Promise<Readable>;
  /** Releases connections. The system may not be used afterwards. */
  close(): Promise<void>;
}

/** What a system that can store data has, all three together (github has none of them). */
export interface Writes {
  write(path: string, body: WriteBody, options?: WriteOptions): Promise<WriteResult>;
  delete(paths: readonly string[], options?: DeleteOptions): Promise<void>;
  /** Creates a directory and its parents; a no-op where directories are prefixes. */
  mkdir(path: string): Promise<void>;
}

/**
 * The abilities a system may have beyond the core, each found by its presence. Callers ask for one
 * through `systems/extensions.ts`, which reports `Unsupported` where it is missing.
 */
export interface Extensions {
  /**
   * Byte ranges served by the provider, so a range read never downloads the whole object. Same
   * errors as `read`; ranges past the end are clamped.
   */
  readRange(path: string, range: ByteRange, options?: ReadOptions): Promise<Readable>;
  /**
   * Bytes [offset, offset + length) in one buffer (fewer where the object ends first), for systems
   * that fill it without a stream: a local file is one positioned read, with no chunks to allocate
   * and join. With `into` (at least `length` long) they are read into it and a view of it is
   * returned. Same errors as `read`. Table reads use it for column chunks.
   */
  readBytes(path: string, range: { offset: number; length: number }, options?: { signal?: AbortSignal; into?: Uint8Array }): Promise<Uint8Array>;
  /**
   * A writer that takes the file as several ranges at once (see RangeWriter). Transfers use it for
   * large files whose source serves ranges, as rclone's multi-thread streams do.
   */
  openRangeWriter(path: string, options: RangeWriterOptions): Promise<RangeWriter>;
  /** A copy inside this system, without the bytes passing through this process. */
  copy(from: string, to: string, options?: CopyOptions): Promise<void>;
  /** Runs a shell command where the data lives (an SSH host), so work can run next to its data. */
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  /**
   * Environment variables that let Stowage in another process (on an SSH host running a copy)
   * reach this same account, in the provider's own conventions, resolved from this process's
   * credential chain: narrowed to `scope` and expiring after its lifetime where the provider can
   * mint such a credential from the caller's (`scoped: true`), else the caller's own with the
   * reason. Undefined where this kind of credential cannot be forwarded at all; the copy then
   * streams through this process.
   */
  exportCredentials(scope: CredentialScope): Promise<ExportedCredentials | undefined>;
  /** Continuing an interrupted large write (see `WriteOptions.checkpoint`). */
  readonly uploads: ResumableUploads;
  /** Many small files written together, cheaper than one by one. */
  readonly batches: BatchWrites;
  /** Many small files read together, cheaper than one by one. */
  readonly batchReads: BatchReads;
}

export type ExtensionName = keyof Extensions;
