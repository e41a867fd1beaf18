/** What callers pass to and get back from a transfer. */
import type { StowageError } from "../errors.js";

export type SkipMode = "never" | "size" | "size-mtime" | "checksum";

export interface TransferOptions {
  /** Also delete destination files the source does not have. Default false (plain copy). */
  deleteExtras?: boolean;
  /**
   * Leave a destination file alone when it already matches: "size", "size-mtime" (same size and
   * not older than the source) or "checksum" (MD5, where both sides know it). Default "never".
   */
  skip?: SkipMode;
  /** Plan and report, but copy and delete nothing. */
  dryRun?: boolean;
  /**
   * Exactly these files, as paths relative to the source root, instead of listing the source
   * (rclone's --files-from). Filters still apply.
   */
  files?: readonly string[];
  /** Only files matching these globs (relative to the source root). */
  include?: readonly string[];
  exclude?: readonly string[];
  /** Ignore files in .gitignore syntax, relative to the source root, e.g. [".gitignore"]. Missing ones are fine. */
  ignoreFiles?: readonly string[];
  /** Copy `.git/` directories too. Default false. */
  includeGit?: boolean;
  /** Replace existing destination files. With false, an existing file fails with AlreadyExists. Default true. */
  overwrite?: boolean;
  /** Files in flight at once. Default 16. */
  concurrency?: number;
  /** Multipart part size and parts in flight, passed to the destination system. */
  partSize?: number;
  partConcurrency?: number;
  /**
   * Ranges of one large file (256 MiB and up) copied at once where the source serves ranges and the
   * destination writes them (local disk, SSH hosts), as rclone's multi-thread streams. Default 4;
   * 1 keeps one stream per file.
   */
  streams?: number;
  /** The size from which a file goes as several streams, in bytes. Default 256 MiB (rclone's --multi-thread-cutoff). */
  multiStreamCutoff?: number;
  /** Attempts after the first for retryable errors (with exponential backoff). Default 3. */
  retries?: number;
  /** Check size and checksum of every copied file. Default true. */
  verify?: boolean;
  /** Continue an interrupted copy of the same source and destination from where it stopped. Default true. */
  resume?: boolean;
  /**
   * Where a copy out of an SSH host, or into one from a bucket, runs: "auto" runs it on the host
   * when the host can run Stowage, else streams through this process; "never" always streams here;
   * "require" fails with Unsupported when the host cannot. Default "auto".
   */
  remote?: "auto" | "never" | "require";
  /**
   * What a copy that runs on an SSH host may be given for its other end: "any" forwards the
   * narrowest credential the provider can mint for that one copy, else the caller's own (the
   * report's `credentials` says which); "scoped" fails with Unsupported, before anything is
   * copied, where only the caller's own could go. Default "any".
   */
  remoteCredentials?: "any" | "scoped";
  onProgress?: (event: ProgressEvent) => void;
  /** Milliseconds between rate events. Default 500. */
  progressInterval?: number;
  signal?: AbortSignal;
}

export type FileStatus = "copied" | "skipped" | "failed" | "deleted";

export type ProgressEvent =
  | { type: "file"; path: string; status: FileStatus; bytes: number; error?: StowageError }
  | {
      type: "rate";
      bytesDone: number;
      bytesTotal: number;
      filesDone: number;
      filesTotal: number;
      /** Bytes per second over the whole transfer so far. */
      bytesPerSecond: number;
      /** Seconds left at the current rate, when known. */
      etaSeconds?: number;
    };

export interface FileResult {
  /** Path relative to the source (or destination, for deletions) root. */
  path: string;
  bytes: number;
  /** Of those, bytes an earlier attempt had already stored (finished multipart parts), not sent again. */
  resumedBytes?: number;
  /** Why a file was skipped. */
  reason?: "unchanged" | "resumed";
}

export type WhereRan = "caller" | "server-side" | "remote-host";

export interface TransferReport {
  source: string;
  destination: string;
  dryRun: boolean;
  copied: FileResult[];
  skipped: FileResult[];
  failed: Array<{ path: string; error: StowageError }>;
  deleted: FileResult[];
  /** Bytes copied (not counting skipped files). */
  bytes: number;
  durationMs: number;
  /** Where the bytes moved: through this process, inside the provider, or on the SSH host at either end. */
  ranOn: WhereRan[];
  /** Set when work that could have run elsewhere streamed through this process, and why. */
  fallback?: string;
  /** The SSH host that ran the copy, when it ran remotely. */
  host?: string;
  /**
   * Whose Node ran Stowage's runner there: the host's own `node`, or this machine's, which Stowage
   * brought into the host's cache because the host had none (20+). Unset with STOWAGE_REMOTE_COMMAND.
   */
  hostNode?: "host" | "shipped";
  /**
   * When it ran remotely: whether the host got credentials for the other end narrowed to that one
   * copy (its bucket or container, the access it needs, a short lifetime), or the caller's own.
   */
  credentials?: "scoped" | "unscoped";
  /** Why the credentials the host got are not scoped. */
  credentialsReason?: string;
}
