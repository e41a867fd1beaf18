/**
 * Copies one large file as several byte ranges at once, as rclone's multi-thread streams do. One
 * SSH channel carries at most the host's window (2 MiB with OpenSSH) per round trip, so a single
 * stream over a long link is bound by latency, not bandwidth; four ranges keep four windows in
 * flight. Each range is read from the source by itself and written at its offset into the
 * destination's part file, which is published whole once every range has arrived.
 *
 * Used only where both ends allow it: the source serves ranges and the destination has a range
 * writer. The content is checked before the part file is published: the destination digests its
 * part file where it lies (the whole file for a source MD5, each part for a multipart ETag), or,
 * where the source has no checksum, each range read now is checksummed as it passes (a CRC where
 * both ends have one) and compared with what the destination says landed: the checksum its range
 * write computed (an SSH host's cksum, on the range's own channel), else its digest of that range
 * afterwards (the local disk reads it back). Resumable like a single
 * stream: the finished ranges (a bit each) and how far each unfinished one had landed in the part
 * file (as the range writer reports it, saved every PROGRESS_STEPS-th of a range) are recorded with
 * the part file's state, a failure that may pass keeps the part file, and the next attempt or a
 * re-run writes only the rest of each range.
 */
import { isStowageError } from "../errors.js";
import { RANGE_WRITE_ALIGN, type ByteSpan, type RangeChecksum, type RangeWriter, type Stat, type System, type UploadState } from "../systems/contract.js";
import { has, readRange } from "../systems/extensions.js";
import { computable, createRangeHash, type RangeHash } from "../systems/range-checksum.js";
import { checksumSpans, contentMismatch, fromSpanDigests, isMismatch, type SourceChecksum } from "./checksums.js";

/** Files from this size on are copied as several streams by default (rclone's --multi-thread-cutoff is 256 MiB too). */
export const MULTI_STREAM_MIN = 256 << 20;

/** Ranges per file by default (rclone's --multi-thread-streams is 4 too). */
export const DEFAULT_STREAMS = 4;

export type { ByteSpan };

/** `size` bytes cut into at most `streams` ranges, each starting on a RANGE_WRITE_ALIGN boundary. */
export function splitRanges(size: number, streams: number): ByteSpan[] {
  const count = Math.max(1, Math.min(streams, Math.floor(size / RANGE_WRITE_ALIGN)));
  const step = Math.ceil(size / count / RANGE_WRITE_ALIGN) * RANGE_WRITE_ALIGN;
  const ranges: ByteSpan[] = [];
  for (let offset = 0; offset < size; offset += step) ranges.push({ offset, length: Math.min(step, size - offset) });
  return ranges;
}

/** Whether this copy can go as several streams (see above). */
export function canMultiStream(source: System, from: Stat, destination: System, options: { streams: number; cutoff: number }): boolean {
  return options.streams > 1 && from.size >= Math.max(options.cutoff, 2 * RANGE_WRITE_ALIGN) && has(source, "readRange") && has(destination, "openRangeWriter");
}

/** The engine's own keys in a multi-stream upload state, beside the range writer's. */
const RANGES_KEY = "multiStreamRanges";
const DONE_KEY = "multiStreamDone";
/** Leading bytes of each range in the part file, comma-separated (a state holds no arrays). */
const HELD_KEY = "multiStreamHeld";
/**
 * A range's progress is saved each time it has grown by this fraction of the range (whole MiB,
 * 1 to 8 MiB): a 1 GiB file in 4 ranges saves every 4 MiB of a range, a few hundred small lines
 * to the journal, and a re-run sends again at most that much of each range.
 */
const PROGRESS_STEPS = 64;
const MAX_PROGRESS_STEP = 8 * RANGE_WRITE_ALIGN;
/** Finished ranges are a bit each of a JSON number, used with 32-bit bitwise operators. */
const MAX_STREAMS = 30;

/** Whether `state` is a multi-stream upload's, which only multiStreamCopy can continue. */
export function isMultiStreamState(state: UploadState | undefined): boolean {
  return typeof state?.[DONE_KEY] === "number";
}

export interface MultiStreamOptions {
  streams: number;
  overwrite: boolean;
  signal?: AbortSignal | undefined;
  onBytes: (count: number) => void;
  /**
   * Makes the copy resumable: each finished range is saved through `save`, a failure that may pass
   * keeps the part file, and a `state` from an earlier attempt is continued with only its missing
   * ranges.
   */
  upload?: { state: UploadState | undefined; save: (state: UploadState) => void } | undefined;
  /** Check the content before publishing: against the source's checksum, or (none) against what was read. */
  verify?: { checksum: SourceChecksum | undefined } | undefined;
}

/** How many leading bytes of `range` a later writer can resume after: whole RANGE_WRITE_ALIGN blocks, or all of it. */
const resumable = (bytes: number, range: ByteSpan) => (bytes >= range.length ? range.length : Math.floor(bytes / RANGE_WRITE_ALIGN) * RANGE_WRITE_ALIGN);

const progressStep = (range: ByteSpan) =>
  Math.min(MAX_PROGRESS_STEP, Math.max(RANGE_WRITE_ALIGN, Math.floor(range.length / PROGRESS_STEPS / RANGE_WRITE_ALIGN) * RANGE_WRITE_ALIGN));

/**
 * Copies `from` to `to` as ranges in parallel. Resolves with the bytes read now, the size written,
 * and the bytes an earlier attempt had already written.
 */
export async function multiStreamCopy(
  source: System,
  from: Stat,
  destination: System,
  to: string,
  options: MultiStreamOptions,
): Promise<{ bytes: number; written: number; resumedBytes: number }> {
  const { writer, ranges, done: earlier, held } = await openWriter(destination, to, from.size, options);
  // The first range to fail stops the others, so the part file is removed once, with nothing writing.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  let done = earlier;
  const saved = [...held];
  const save = () => {
    saved.splice(0, saved.length, ...held);
    options.upload?.save({ ...writer.state, [RANGES_KEY]: ranges.length, [DONE_KEY]: done, [HELD_KEY]: held.join(",") });
  };
  save();
  /** A range's writer says more of it is in the part file: saved once it is a step ahead of the last save. */
  const landed = (index: number, bytes: number) => {
    const range = ranges[index]!;
    const now = resumable(bytes, range);
    if (now <= held[index]!) return;
    held[index] = now;
    if (options.upload && now - saved[index]! >= progressStep(range)) save();
  };
  let bytes = 0;
  // Without a source checksum, each range's bytes read now are checksummed to compare with what
  // landed, by the fastest checksum both ends compute (a CRC, a tenth of MD5's cost or less): the
  // destination's of the range as it wrote it, or, where it could not, its digest of the range
  // as soon as it is written (while the other ranges still stream).
  const compare: RangeChecksum | undefined = options.verify && !options.verify.checksum ? (writer.checksums.find(computable) ?? "md5") : undefined;
  const counted = async function* (input: AsyncIterable<Uint8Array>, hash: RangeHash | undefined): AsyncIterable<Uint8Array> {
    for await (const chunk of input) {
      hash?.update(chunk);
      bytes += chunk.length;
      options.onBytes(chunk.length);
      yield chunk;
    }
  };
  const copyRange = async (range: ByteSpan, index: number): Promise<void> => {
    // Only the rest of a range an earlier attempt began is read and written (none, when its writer
    // had said all of it landed before failing).
    const start = held[index]!;
    if (start === range.length) done |= 1 << index;
    if (done & (1 << index)) return;
    const rest = { offset: range.offset + start, length: range.length - start };
    try {
      const input = await readRange(source, from.path, rest, { signal });
      // Its error reaches the writer through iteration; once another range has stopped the copy,
      // a late one (the abort destroying it) must not go unhandled.
      input.on("error", () => {});
      const hash = compare ? createRangeHash(compare) : undefined;
      const written = await writer.write(rest.offset, rest.length, counted(input, hash), {
        signal,
        ...(compare ? { checksum: compare } : {}),
        ...(options.upload ? { onWritten: (bytes: number) => landed(index, start + bytes) } : {}),
      });
      if (hash) {
        const sent = hash.digest();
        const stored = written.checksum ?? (await writer.digest([rest], { signal, checksum: compare! }))[0];
        if (stored !== sent) throw contentMismatch(destination, to, `read ${sent} at ${rest.offset} but the destination holds ${stored}`);
      }
      done |= 1 << index;
      held[index] = range.length;
      save();
    } catch (error) {
      stop.abort(error);
      throw error;
    }
  };
  const resumedBytes = held.reduce((sum, bytes) => sum + bytes, 0);
  options.onBytes(resumedBytes);
  try {
    await Promise.all(ranges.map(copyRange));
    if (bytes + resumedBytes !== from.size) throw contentMismatch(destination, to, `read ${bytes} bytes of ${from.path}, expected ${from.size - resumedBytes}`);
    if (options.verify?.checksum) await checkSourceChecksum(writer, from, destination, to, options.verify.checksum, signal);
    const result = await writer.commit();
    return { bytes, written: result.size, resumedBytes };
  } catch (error) {
    stop.abort(error);
    // The range that failed first says why; the others only stopped because of it.
    const cause: unknown = stop.signal.reason ?? error;
    // A part file whose content did not check out is wrong somewhere: nothing of it is reused.
    const keep = options.upload !== undefined && !options.signal?.aborted && isStowageError(cause) && cause.retryable && !isMismatch(cause);
    await (keep ? writer.keep() : writer.abort());
    // Nothing writes any more: what the ranges reached since the last save is kept too.
    if (keep && held.some((bytes, index) => bytes > saved[index]!)) save();
    throw cause;
  }
}

/**
 * Checks the finished part file against the source's checksum before it is published: the
 * destination digests it where it lies, the whole file for an MD5, each part for a multipart ETag
 * (MD5s do not combine across ranges, so this is a pass over the part file at the end).
 */
async function checkSourceChecksum(
  writer: RangeWriter,
  from: Stat,
  destination: System,
  to: string,
  checksum: SourceChecksum,
  signal: AbortSignal,
): Promise<void> {
  const stored = fromSpanDigests(checksum, await writer.digest(checksumSpans(checksum, from.size), { signal }));
  if (stored !== checksum.value) throw contentMismatch(destination, to, `source checksum ${checksum.value} but the destination holds ${stored}`);
}

/**
 * Leading bytes of each range an earlier attempt's state says are in its part file: all of a
 * finished range, the recorded progress of the others (none where it is missing or makes no sense).
 */
function heldBytes(state: UploadState, ranges: ByteSpan[], done: number): number[] {
  const recorded = typeof state[HELD_KEY] === "string" ? state[HELD_KEY].split(",").map(Number) : [];
  return ranges.map((range, index) => {
    if (done & (1 << index)) return range.length;
    const bytes = recorded.length === ranges.length ? recorded[index]! : 0;
    return Number.isSafeInteger(bytes) && bytes > 0 ? resumable(Math.min(bytes, range.length), range) : 0;
  });
}

/**
 * A range writer and its ranges: the earlier attempt's part file with what it holds of each range,
 * when `options.upload` has one that is still there, else a new one.
 */
async function openWriter(
  destination: System,
  to: string,
  size: number,
  options: MultiStreamOptions,
): Promise<{ writer: RangeWriter; ranges: ByteSpan[]; done: number; held: number[] }> {
  const open = (resume?: UploadState) =>
    destination.openRangeWriter!(to, {
      size,
      overwrite: options.overwrite,
      ...(resume ? { resume } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  const state = options.upload?.state;
  const count = Number(state?.[RANGES_KEY]);
  const done = Number(state?.[DONE_KEY]);
  if (state && isMultiStreamState(state) && Number.isInteger(count) && count >= 1 && count <= MAX_STREAMS) {
    const ranges = splitRanges(size, count);
    const writer = ranges.length === count ? await open(state).catch(() => undefined) : undefined;
    if (writer) {
      const finished = done & (2 ** count - 1);
      return { writer, ranges, done: finished, held: heldBytes(state, ranges, finished) };
    }
  }
  if (state) await destination.uploads?.discard(to, state).catch(() => undefined);
  const ranges = splitRanges(size, Math.min(options.streams, MAX_STREAMS));
  return { writer: await open(), ranges, done: 0, held: ranges.map(() => 0) };
}
