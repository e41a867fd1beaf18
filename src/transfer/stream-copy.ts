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
 *
 * With `verify`, the content is checked (./checksums.ts): the bytes read are hashed as they pass
 * into what the source's checksum is (its MD5 or multipart ETag). A resumed copy, which read only
 * the rest, has the destination digest its part file before publishing it instead. Where the source
 * has no checksum, the hash of what was read is compared with the destination's: the MD5 its write
 * reports, or (resumed) its digest of the rest. A destination that publishes a part file (file,
 * ssh) is checked before publishing; an object store after, and a wrong object is deleted.
 */
import { Transform, pipeline } from "node:stream";
import { readAll } from "../systems/body.js";
import type { DigestRanges, Stat, System, UploadState, WriteBody, WriteOptions } from "../systems/contract.js";
import { has, readRange, writable } from "../systems/extensions.js";
import { checksumSpans, ContentHash, contentMismatch, fromSpanDigests, sourceChecksum, type SourceChecksum } from "./checksums.js";
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
  const checksum = options.verify ? sourceChecksum(from) : undefined;
  const streams = options.streams ?? DEFAULT_STREAMS;
  const multiStream = canMultiStream(source, from, destination, { streams, cutoff: options.multiStreamCutoff ?? MULTI_STREAM_MIN });
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
      verify: options.verify ? { checksum } : undefined,
    });
    if (options.verify) checkSizes(from, to, destination, bytes + resumedBytes, written);
    return { bytes, resumedBytes };
  }
  const offset = resumable ? await resumeOffset(source, from, destination, to, options) : 0;
  const input = await readRange(source, from.path, offset > 0 ? { offset } : undefined, options.signal ? { signal: options.signal } : {});
  options.onBytes(offset);
  // Hashing costs CPU on every byte: only what can be checked is hashed. A whole file read now is
  // checked against the source's checksum, or, without one, against the MD5 the destination's write
  // reports (a file written front to back in one stream is not digested again: a round trip per
  // file). A resumed file has the destination digest its part file (see `check` below): all of it
  // against the source's checksum, or, without one, the rest read now against its hash.
  const hashed =
    options.verify &&
    (offset === 0 ? checksum !== undefined || destination.semantics.checksums.includes("md5") : checksum === undefined && destination.semantics.directories);
  const hash = hashed ? new ContentHash(offset === 0 ? checksum : undefined) : undefined;
  let bytes = 0;
  let body: WriteBody;
  let wholeMd5: string | undefined;
  if (from.size <= WHOLE_FILE_LIMIT) {
    const whole = await readAll(input);
    hash?.update(whole);
    // A plain MD5 known before the write lets the destination's server check what it receives.
    if (hash && checksum?.kind !== "etag") wholeMd5 = hash.digest();
    bytes = whole.length;
    options.onBytes(bytes);
    body = whole;
  } else {
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash?.update(chunk);
        bytes += chunk.length;
        options.onBytes(chunk.length);
        callback(null, chunk);
      },
    });
    // A failing source destroys the meter with the source's error, so the write sees it and aborts.
    pipeline(input, meter, () => {});
    body = meter;
  }
  let read: string | undefined = wholeMd5;
  const readDigest = () => (read ??= hash?.digest());
  /**
   * The content check; before publishing where the destination calls it (`digest` then reads its
   * part file), else after the write with what its result says.
   */
  let checked = false;
  const check = async (digest: DigestRanges | undefined, writtenMd5: string | undefined) => {
    checked = true;
    if (!options.verify) return;
    if (offset === 0 && checksum) {
      if (readDigest() !== checksum.value) throw contentMismatch(destination, to, `source checksum ${checksum.value} but read ${readDigest()}`);
      if (writtenMd5 && checksum.kind === "md5" && writtenMd5 !== checksum.value)
        throw contentMismatch(destination, to, `destination stored checksum ${writtenMd5}, sent ${checksum.value}`);
      return;
    }
    if (offset === 0 && writtenMd5 && hash) {
      if (writtenMd5 !== readDigest()) throw contentMismatch(destination, to, `destination stored checksum ${writtenMd5}, sent ${readDigest()}`);
      return;
    }
    if (!digest || offset === 0) return;
    await checkStored(digest, from, destination, to, checksum, offset, readDigest, options.signal);
  };
  const writeOptions: WriteOptions = {
    overwrite: options.overwrite,
    size: from.size,
    ...(options.partSize ? { partSize: options.partSize } : {}),
    ...(options.partConcurrency ? { concurrency: options.partConcurrency } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(wholeMd5 ? { md5: wholeMd5 } : {}),
    ...(options.verify ? { beforePublish: (digest: DigestRanges) => check(digest, undefined) } : {}),
  };
  if (resumable) {
    const state = options.upload!.state;
    writeOptions.checkpoint = { save: options.upload!.save, ...(offset > 0 && state ? { resume: { state, offset } } : {}) };
  }
  const result = await writable(destination, "write", to).write(to, body, writeOptions);
  if (options.verify) {
    try {
      checkSizes(from, to, destination, offset + bytes, result.size);
      if (!checked) await check(undefined, result.md5);
    } catch (error) {
      // Published already (an object store): a file that does not check out is not left under the name.
      await writable(destination, "delete", to)
        .delete([to])
        .catch(() => {});
      throw error;
    }
  }
  return { bytes, resumedBytes: offset };
}

/**
 * Has the destination digest what it stored: all of it against the source's checksum (a resumed
 * copy read only the rest), or, without one, the bytes read now against their hash.
 */
async function checkStored(
  digest: DigestRanges,
  from: Stat,
  destination: System,
  to: string,
  checksum: SourceChecksum | undefined,
  offset: number,
  readDigest: () => string | undefined,
  signal: AbortSignal | undefined,
): Promise<void> {
  const options = signal ? { signal } : {};
  if (checksum) {
    const stored = fromSpanDigests(checksum, await digest(checksumSpans(checksum, from.size), options));
    if (stored !== checksum.value) throw contentMismatch(destination, to, `source checksum ${checksum.value} but the destination holds ${stored}`);
    return;
  }
  const sent = readDigest();
  if (sent === undefined) return;
  const [stored] = await digest([{ offset, length: from.size - offset }], options);
  if (stored !== sent) throw contentMismatch(destination, to, `read ${sent} from ${offset} on but the destination holds ${stored}`);
}

function checkSizes(from: Stat, to: string, destination: System, read: number, written: number): void {
  if (read !== from.size) throw contentMismatch(destination, to, `read ${read} bytes of ${from.path}, expected ${from.size}`);
  if (written !== read) throw contentMismatch(destination, to, `wrote ${written} bytes, read ${read}`);
}
