/**
 * Copies one large file as several byte ranges at once, as rclone's multi-thread streams do. One
 * SSH channel carries at most the host's window (2 MiB with OpenSSH) per round trip, so a single
 * stream over a long link is bound by latency, not bandwidth; four ranges keep four windows in
 * flight. Each range is read from the source by itself and written at its offset into the
 * destination's part file, which is published whole once every range has arrived.
 *
 * Used only where both ends allow it: the source serves ranges, the destination has a range writer,
 * and no whole-file MD5 has to be computed (that needs the bytes in order). A failed multi-stream
 * copy removes its part file and a retry starts the file again; `streams: 1` keeps the single
 * stream, whose uploads can resume where they stopped.
 */
import { StowageError } from "../errors.js";
import { RANGE_WRITE_ALIGN, type Stat, type System } from "../systems/contract.js";

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
    source.capabilities.rangeRead &&
    destination.openRangeWriter !== undefined
  );
}

export interface MultiStreamOptions {
  streams: number;
  overwrite: boolean;
  signal?: AbortSignal | undefined;
  onBytes(count: number): void;
}

/** Copies `from` to `to` as ranges in parallel; resolves with the bytes read and the size written. */
export async function multiStreamCopy(source: System, from: Stat, destination: System, to: string, options: MultiStreamOptions): Promise<{ bytes: number; written: number }> {
  const writer = await destination.openRangeWriter!(to, { size: from.size, overwrite: options.overwrite, ...(options.signal ? { signal: options.signal } : {}) });
  // The first range to fail stops the others, so the part file is removed once, with nothing writing.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  let bytes = 0;
  const counted = async function* (input: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
    for await (const chunk of input) {
      bytes += chunk.length;
      options.onBytes(chunk.length);
      yield chunk;
    }
  };
  const copyRange = async (range: ByteSpan): Promise<void> => {
    try {
      const input = await source.read(from.path, { range, signal });
      // Its error reaches the writer through iteration; once another range has stopped the copy,
      // a late one (the abort destroying it) must not go unhandled.
      input.on("error", () => {});
      await writer.write(range.offset, range.length, counted(input), { signal });
    } catch (error) {
      stop.abort(error);
      throw error;
    }
  };
  try {
    await Promise.all(splitRanges(from.size, options.streams).map(copyRange));
    if (bytes !== from.size) {
      throw new StowageError({ code: "Conflict", retryable: true, system: destination.name, operation: "verify", path: to, message: `read ${bytes} bytes of ${from.path}, expected ${from.size}` });
    }
    const result = await writer.commit();
    return { bytes, written: result.size };
  } catch (error) {
    stop.abort(error);
    await writer.abort();
    // The range that failed first says why; the others only stopped because of it.
    throw stop.signal.reason ?? error;
  }
}
