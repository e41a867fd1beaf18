/**
 * Copies one file between two systems as a stream: no temp file on this machine, memory bounded by
 * the systems' part buffers. Counts and hashes the bytes as they pass, then verifies the result.
 *
 * Small files are read whole and written as bytes instead: every system sends a bytes body of that
 * size in one request (a stream costs Azure a Put Block + Put Block List with an 8 MiB block
 * buffer, and GCS a resumable session), and no per-file stream pipeline is built. Memory stays
 * bounded by files in flight × WHOLE_FILE_LIMIT.
 *
 * Larger files to a system with resumable uploads carry a checkpoint: a retry or a re-run asks the
 * destination how much of the earlier upload it still holds and reads the source from there.
 */
import { createHash } from "node:crypto";
import { Transform, pipeline } from "node:stream";
import { StowageError } from "../errors.js";
import { readAll } from "../systems/body.js";
import type { Stat, System, UploadState, WriteBody, WriteOptions } from "../systems/contract.js";
import { has, readRange, writable } from "../systems/extensions.js";
import { canMultiStream, DEFAULT_STREAMS, isMultiStreamState, MULTI_STREAM_MIN, multiStreamCopy } from "./multi-stream.js";

/** Files up to this size are buffered whole (see above). */
export const WHOLE_FILE_LIMIT = 1 << 20;

export interface StreamCopyOptions {
  overwrite: boolean;
  verify: boolean;
  partSize?: number | undefined;
  partConcurrency?: number | undefined;
  /** Ranges copied at once for a large file where both ends allow it (./multi-stream.ts). */
  streams?: number | undefined;
  multiStreamCutoff?: number | undefined;
  signal?: AbortSignal | undefined;
  onBytes: (count: number) => void;
  /** The destination's unfinished upload of this file from an earlier attempt, and where to save a new one's. */
  upload?: { state: UploadState | undefined; save: (state: UploadState) => void } | undefined;
}

/** Bytes of the destination file an earlier attempt already stored, so this one starts after them. */
async function resumeOffset(source: System, from: Stat, destination: System, to: string, options: StreamCopyOptions): Promise<number> {
  const state = options.upload?.state;
  const uploads = destination.uploads;
  if (!state || !uploads) return 0;
  // Ranges written by an earlier multi-stream attempt are no prefix to append after.
  if (isMultiStreamState(state)) {
    await uploads.discard(to, state).catch(() => undefined);
    return 0;
  }
  const offset = has(source, "readRange") ? await uploads.offset(to, state, { size: from.size, ...(options.signal ? { signal: options.signal } : {}) }) : 0;
  if (offset === 0) await uploads.discard(to, state).catch(() => undefined);
  return offset;
}

export async function streamCopy(
  source: System,
  from: Stat,
  destination: System,
  to: string,
  options: StreamCopyOptions,
): Promise<{ bytes: number; resumedBytes: number }> {
  const resumable = from.size > WHOLE_FILE_LIMIT && destination.uploads !== undefined && options.upload !== undefined;
  const md5Needed = options.verify && (from.md5 !== undefined || destination.semantics.checksums.includes("md5"));
  const streams = options.streams ?? DEFAULT_STREAMS;
  const multiStream = canMultiStream(source, from, destination, { streams, cutoff: options.multiStreamCutoff ?? MULTI_STREAM_MIN, md5Needed });
  const saved = options.upload?.state;
  // An earlier attempt's upload continues the way it was written: ranges as ranges, a single
  // stream as a single stream (a part file written as ranges may have holes to append after).
  if (multiStream && (!saved || isMultiStreamState(saved))) {
    const { bytes, written, resumedBytes } = await multiStreamCopy(source, from, destination, to, {
      streams,
      overwrite: options.overwrite,
      signal: options.signal,
      onBytes: options.onBytes,
      upload: resumable ? options.upload : undefined,
    });
    if (options.verify) verify(from, to, destination, bytes + resumedBytes, written, undefined);
    return { bytes, resumedBytes };
  }
  const offset = resumable ? await resumeOffset(source, from, destination, to, options) : 0;
  const input = await readRange(source, from.path, offset > 0 ? { offset } : undefined, options.signal ? { signal: options.signal } : {});
  options.onBytes(offset);
  // MD5 costs CPU on every byte: compute it only when the source or the destination can check it
  // (and only over a whole file: a resumed upload reads the rest).
  const md5 = offset === 0 && md5Needed ? createHash("md5") : undefined;
  let bytes = 0;
  let body: WriteBody;
  let wholeMd5: string | undefined;
  if (from.size <= WHOLE_FILE_LIMIT) {
    const whole = await readAll(input);
    wholeMd5 = md5?.update(whole).digest("hex");
    bytes = whole.length;
    options.onBytes(bytes);
    body = whole;
  } else {
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        md5?.update(chunk);
        bytes += chunk.length;
        options.onBytes(chunk.length);
        callback(null, chunk);
      },
    });
    // A failing source destroys the meter with the source's error, so the write sees it and aborts.
    pipeline(input, meter, () => {});
    body = meter;
  }
  const writeOptions: WriteOptions = {
    overwrite: options.overwrite,
    size: from.size,
    ...(options.partSize ? { partSize: options.partSize } : {}),
    ...(options.partConcurrency ? { concurrency: options.partConcurrency } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    // Known before the write: the destination's server can check the bytes it receives.
    ...(wholeMd5 ? { md5: wholeMd5 } : {}),
  };
  if (resumable) {
    const state = options.upload!.state;
    writeOptions.checkpoint = { save: options.upload!.save, ...(offset > 0 && state ? { resume: { state, offset } } : {}) };
  }
  const result = await writable(destination, "write", to).write(to, body, writeOptions);
  if (options.verify) verify(from, to, destination, offset + bytes, result.size, wholeMd5 ?? md5?.digest("hex"), result.md5);
  return { bytes, resumedBytes: offset };
}

function verify(from: Stat, to: string, destination: System, read: number, written: number, md5: string | undefined, writtenMd5?: string): void {
  const mismatch = (message: string) =>
    new StowageError({ code: "Conflict", retryable: true, system: destination.name, operation: "verify", path: to, message });
  if (read !== from.size) throw mismatch(`read ${read} bytes of ${from.path}, expected ${from.size}`);
  if (written !== read) throw mismatch(`wrote ${written} bytes, read ${read}`);
  if (md5 && from.md5 && from.md5 !== md5) throw mismatch(`source checksum ${from.md5} but read ${md5}`);
  if (md5 && writtenMd5 && writtenMd5 !== md5) throw mismatch(`destination stored checksum ${writtenMd5}, sent ${md5}`);
}
