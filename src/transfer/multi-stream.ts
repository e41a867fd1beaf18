/**
 * Copies one large file as several byte ranges at once, as rclone's multi-thread streams do. One
 * SSH channel carries at most the host's window (2 MiB with OpenSSH) per round trip, so a single
 * stream over a long link is bound by latency, not bandwidth; four ranges keep four windows in
 * flight. Each range is read from the source by itself and written at its offset into the
 * destination's part file, which is published whole once every range has arrived.
 *
 * Used only where both ends allow it: the source serves ranges, the destination has a range writer,
 * and no whole-file MD5 has to be computed (that needs the bytes in order). Resumable like a single
 * stream: the finished ranges are recorded (a bit each) with the part file's state, a failure that
 * may pass keeps the part file, and the next attempt or a re-run writes only the missing ranges.
 */
import { isStowageError, StowageError } from "../errors.js";
import { RANGE_WRITE_ALIGN, type RangeWriter, type Stat, type System, type UploadState } from "../systems/contract.js";
import { has, readRange } from "../systems/extensions.js";

/** Files from this size on are copied as several streams by default (rclone's --multi-thread-cutoff is 256 MiB too). */
export const MULTI_STREAM_MIN = 256 << 20;

/** Ranges per file by default (rclone's --multi-thread-streams is 4 too). */
export const DEFAULT_STREAMS = 4;

export interface ByteSpan {
  offset: number;
  length: number;
}

/** `size` bytes cut into at most `streams` ranges, each starting on a RANGE_WRITE_ALIGN boundary. */
export function splitRanges(size: number, streams: number): ByteSpan[] {
  const count = Math.max(1, Math.min(streams, Math.floor(size / RANGE_WRITE_ALIGN)));
  const step = Math.ceil(size / count / RANGE_WRITE_ALIGN) * RANGE_WRITE_ALIGN;
  const ranges: ByteSpan[] = [];
  for (let offset = 0; offset < size; offset += step) ranges.push({ offset, length: Math.min(step, size - offset) });
  return ranges;
}

/** Whether this copy can go as several streams (see above). */
export function canMultiStream(source: System, from: Stat, destination: System, options: { streams: number; cutoff: number; md5Needed: boolean }): boolean {
  return (
    options.streams > 1 &&
    from.size >= Math.max(options.cutoff, 2 * RANGE_WRITE_ALIGN) &&
    !options.md5Needed &&
    has(source, "readRange") &&
    has(destination, "openRangeWriter")
  );
}

/** The engine's own keys in a multi-stream upload state, beside the range writer's. */
const RANGES_KEY = "multiStreamRanges";
const DONE_KEY = "multiStreamDone";
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
}

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
  const { writer, ranges, done: earlier } = await openWriter(destination, to, from.size, options);
  // The first range to fail stops the others, so the part file is removed once, with nothing writing.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  let done = earlier;
  const save = () => options.upload?.save({ ...writer.state, [RANGES_KEY]: ranges.length, [DONE_KEY]: done });
  save();
  let bytes = 0;
  const counted = async function* (input: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
    for await (const chunk of input) {
      bytes += chunk.length;
      options.onBytes(chunk.length);
      yield chunk;
    }
  };
  const copyRange = async (range: ByteSpan, index: number): Promise<void> => {
    if (done & (1 << index)) return;
    try {
      const input = await readRange(source, from.path, range, { signal });
      // Its error reaches the writer through iteration; once another range has stopped the copy,
      // a late one (the abort destroying it) must not go unhandled.
      input.on("error", () => {});
      await writer.write(range.offset, range.length, counted(input), { signal });
      done |= 1 << index;
      save();
    } catch (error) {
      stop.abort(error);
      throw error;
    }
  };
  const resumedBytes = ranges.reduce((sum, range, index) => sum + (earlier & (1 << index) ? range.length : 0), 0);
  options.onBytes(resumedBytes);
  try {
    await Promise.all(ranges.map(copyRange));
    if (bytes + resumedBytes !== from.size) {
      throw new StowageError({
        code: "Conflict",
        retryable: true,
        system: destination.name,
        operation: "verify",
        path: to,
        message: `read ${bytes} bytes of ${from.path}, expected ${from.size - resumedBytes}`,
      });
    }
    const result = await writer.commit();
    return { bytes, written: result.size, resumedBytes };
  } catch (error) {
    stop.abort(error);
    // The range that failed first says why; the others only stopped because of it.
    const cause: unknown = stop.signal.reason ?? error;
    const keep = options.upload !== undefined && !options.signal?.aborted && isStowageError(cause) && cause.retryable;
    await (keep ? writer.keep() : writer.abort());
    throw cause;
  }
}

/**
 * A range writer and its ranges: the earlier attempt's part file with the ranges it finished, when
 * `options.upload` has one that is still there, else a new one.
 */
async function openWriter(
  destination: System,
  to: string,
  size: number,
  options: MultiStreamOptions,
): Promise<{ writer: RangeWriter; ranges: ByteSpan[]; done: number }> {
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
    if (writer) return { writer, ranges, done: done & (2 ** count - 1) };
  }
  if (state) await destination.uploads?.discard(to, state).catch(() => undefined);
  return { writer: await open(), ranges: splitRanges(size, Math.min(options.streams, MAX_STREAMS)), done: 0 };
}
