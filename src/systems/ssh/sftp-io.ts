/**
 * Promise wrappers over ssh2's SFTP client, plus the pipelined reader and writer that keep several
 * requests in flight on one channel (a single request at a time is round-trip bound).
 */
import { Readable } from "node:stream";
import type { FileEntryWithStats, SFTPWrapper, Stats } from "ssh2";
import { SftpStatusError, SFTP_STATUS } from "./errors.js";

/**
 * OpenSSH's sftp-server caps reads and writes at 261120 bytes (256 KiB minus header room); larger
 * requests would be split by ssh2 into sequential round trips.
 */
export const MAX_IO_BYTES = 261_120;

type Callback<T> = (error: Error | undefined | null, value: T) => void;

/** Runs one SFTP request; a status reply becomes an SftpStatusError carrying the SFTP code. */
function request<T>(start: (callback: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    start((error, value) => {
      if (!error) return resolve(value);
      const code = (error as { code?: unknown }).code;
      reject(typeof code === "number" ? new SftpStatusError(code, error.message) : error);
    });
  });
}

export function isStatus(error: unknown, ...statuses: number[]): boolean {
  return error instanceof SftpStatusError && statuses.includes(error.status);
}

export class SftpClient {
  #closed = false;
  #pending = 0;

  constructor(readonly sftp: SFTPWrapper) {
    sftp.once("close", () => (this.#closed = true));
  }

  /** False once the channel has closed; ssh2 would leave requests on a closed channel unanswered. */
  get isOpen(): boolean {
    return !this.#closed;
  }

  /** Requests sent and not yet answered. */
  get pending(): number {
    return this.#pending;
  }

  #request<T>(start: (callback: Callback<T>) => void): Promise<T> {
    if (this.#closed) return Promise.reject(new Error("SFTP channel closed: Not connected"));
    this.#pending++;
    const settled = () => void this.#pending--;
    const promise = request(start);
    promise.then(settled, settled);
    return promise;
  }

  stat(path: string): Promise<Stats> {
    return this.#request((cb) => this.sftp.stat(path, cb));
  }
  lstat(path: string): Promise<Stats> {
    return this.#request((cb) => this.sftp.lstat(path, cb));
  }
  /** Stat that answers undefined for a missing path. */
  async statOrUndefined(path: string): Promise<Stats | undefined> {
    try {
      return await this.stat(path);
    } catch (error) {
      if (isStatus(error, SFTP_STATUS.NO_SUCH_FILE)) return undefined;
      throw error;
    }
  }
  realpath(path: string): Promise<string> {
    return this.#request((cb) => this.sftp.realpath(path, cb));
  }
  open(path: string, flags: "r" | "r+" | "w" | "wx"): Promise<Buffer> {
    return this.#request((cb) => this.sftp.open(path, flags, cb));
  }
  fstat(handle: Buffer): Promise<Stats> {
    return this.#request((cb) => this.sftp.fstat(handle, cb));
  }
  /** Cuts (or extends) an open file to `size` bytes. */
  truncate(handle: Buffer, size: number): Promise<void> {
    return this.#request((cb) => this.sftp.fsetstat(handle, { size }, (error) => cb(error, undefined)));
  }
  close(handle: Buffer): Promise<void> {
    return this.#request((cb) => this.sftp.close(handle, (error) => cb(error, undefined)));
  }
  unlink(path: string): Promise<void> {
    return this.#request((cb) => this.sftp.unlink(path, (error) => cb(error, undefined)));
  }
  rmdir(path: string): Promise<void> {
    return this.#request((cb) => this.sftp.rmdir(path, (error) => cb(error, undefined)));
  }
  mkdir(path: string): Promise<void> {
    return this.#request((cb) => this.sftp.mkdir(path, (error) => cb(error, undefined)));
  }
  /** Plain SFTP rename: OpenSSH's sftp-server refuses to replace an existing target. */
  rename(from: string, to: string): Promise<void> {
    return this.#request((cb) => this.sftp.rename(from, to, (error) => cb(error, undefined)));
  }
  /** posix-rename@openssh.com: rename(2), replacing the target atomically. */
  posixRename(from: string, to: string): Promise<void> {
    return this.#request((cb) => this.sftp.ext_openssh_rename(from, to, (error) => cb(error, undefined)));
  }
  opendir(path: string): Promise<Buffer> {
    return this.#request((cb) => this.sftp.opendir(path, cb));
  }
  /** One batch of directory entries ("." and ".." left out), or undefined at the end. */
  async readdirBatch(handle: Buffer): Promise<FileEntryWithStats[] | undefined> {
    try {
      return await this.#request<FileEntryWithStats[]>((cb) => this.sftp.readdir(handle, cb));
    } catch (error) {
      if (isStatus(error, SFTP_STATUS.EOF)) return undefined;
      throw error;
    }
  }
  /** Reads up to `length` bytes at `position`; fewer only at the end of the file. */
  async readAt(handle: Buffer, length: number, position: number): Promise<Buffer> {
    const buffer = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const bytes = await this.#request<number>((cb) => this.sftp.read(handle, buffer, filled, length - filled, position + filled, (error, n) => cb(error, n)));
      if (bytes === 0) break; // end of file
      filled += bytes;
    }
    return filled === length ? buffer : buffer.subarray(0, filled);
  }
  writeAt(handle: Buffer, data: Buffer, position: number): Promise<void> {
    return this.#request((cb) => this.sftp.write(handle, data, 0, data.length, position, (error) => cb(error, undefined)));
  }
}

/**
 * A Readable over bytes [start, end) of an open file, with up to `inFlight` read requests
 * outstanding. It closes the handle when it ends or is destroyed.
 */
export function pipelinedReader(client: SftpClient, handle: Buffer, start: number, end: number, inFlight = 16): Readable {
  const pending: Array<Promise<Buffer>> = [];
  let next = start;
  let closed = false;
  const closeHandle = () => {
    if (closed) return Promise.resolve();
    closed = true;
    return client.close(handle).catch(() => {});
  };
  const fill = () => {
    while (pending.length < inFlight && next < end) {
      const length = Math.min(MAX_IO_BYTES, end - next);
      const promise = client.readAt(handle, length, next);
      promise.catch(() => {}); // observed when it reaches the head of the queue
      pending.push(promise);
      next += length;
    }
  };
  let reading = false;
  return new Readable({
    highWaterMark: MAX_IO_BYTES * inFlight,
    read() {
      if (reading) return;
      reading = true;
      (async () => {
        for (;;) {
          fill();
          const head = pending.shift();
          if (!head) {
            await closeHandle();
            this.push(null);
            return;
          }
          const chunk = await head;
          if (this.destroyed) return;
          if (chunk.length === 0) {
            // The file shrank while being read: end early rather than pad.
            pending.length = 0;
            next = end;
            continue;
          }
          if (!this.push(chunk)) return;
        }
      })().then(
        () => (reading = false),
        (error: Error) => this.destroy(error),
      );
    },
    destroy(error, callback) {
      pending.length = 0;
      closeHandle().then(
        () => callback(error),
        (closeError: unknown) => callback(error ?? (closeError as Error)),
      );
    },
  });
}

/**
 * Writes a body to an open file at increasing offsets, in requests of up to `MAX_IO_BYTES`, with at
 * most `inFlight` outstanding, from `start` on. Resolves with the bytes written. `onWritten` hears
 * how many leading bytes the server has answered for (requests may be answered out of order).
 *
 * Bytes are sent as slices of themselves; a stream is gathered into request-sized buffers that are
 * reused once their request is answered. A fresh 255 KiB buffer per request (and so per small file)
 * made V8 run a full GC every few dozen requests (its external-memory trigger), which cost more
 * CPU than the encryption.
 */
export async function pipelinedWrite(
  client: SftpClient,
  handle: Buffer,
  body: Buffer | AsyncIterable<Uint8Array | string>,
  inFlight: number,
  signal: AbortSignal | undefined,
  start = 0,
  onWritten?: (bytes: number) => void,
): Promise<number> {
  const inflight = new Set<Promise<void>>();
  /** Where each unanswered request starts, for onWritten. */
  const starts = new Map<Promise<void>, number>();
  const spare: Buffer[] = [];
  let failure: unknown;
  let position = start;

  /** Sends `data`; `release` runs once the server has answered (ssh2 may read `data` until then). */
  const send = async (data: Buffer, release?: () => void) => {
    while (inflight.size >= inFlight) await Promise.race(inflight);
    if (failure) throw failure;
    signal?.throwIfAborted();
    const promise = client.writeAt(handle, data, position).then(
      () => {
        inflight.delete(promise);
        starts.delete(promise);
        // Everything before the first unanswered request has landed.
        if (onWritten) onWritten((starts.size > 0 ? Math.min(...starts.values()) : position) - start);
        release?.();
      },
      (error: unknown) => {
        inflight.delete(promise);
        failure ??= error;
      },
    );
    inflight.add(promise);
    if (onWritten) starts.set(promise, position);
    position += data.length;
  };

  try {
    if (Buffer.isBuffer(body)) {
      for (let offset = 0; offset < body.length; offset += MAX_IO_BYTES) await send(body.subarray(offset, offset + MAX_IO_BYTES));
    } else {
      let buffer: Buffer = Buffer.allocUnsafe(MAX_IO_BYTES);
      let filled = 0;
      const flush = async (length: number) => {
        const full = buffer;
        await send(full.subarray(0, length), () => spare.push(full));
        buffer = spare.pop() ?? Buffer.allocUnsafe(MAX_IO_BYTES);
        filled = 0;
      };
      for await (const piece of body) {
        signal?.throwIfAborted();
        if (failure) throw failure;
        const bytes = typeof piece === "string" ? Buffer.from(piece) : piece;
        let offset = 0;
        while (offset < bytes.length) {
          const take = Math.min(MAX_IO_BYTES - filled, bytes.length - offset);
          buffer.set(bytes.subarray(offset, offset + take), filled);
          filled += take;
          offset += take;
          if (filled === MAX_IO_BYTES) await flush(filled);
        }
      }
      if (filled > 0) await flush(filled);
    }
    signal?.throwIfAborted();
  } finally {
    await Promise.all(inflight);
  }
  if (failure) throw failure;
  return position - start;
}
