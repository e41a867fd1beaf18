/**
 * Buffers for column chunks, reused from one row group to the next. A whole-table read fetches
 * every chunk into a fresh buffer that is garbage once its pages are decoded; reusing them saves
 * the allocations (and the page faults and garbage collections of hundreds of MB of them).
 *
 * Only the JavaScript decoder gives buffers back: nothing it outputs keeps a view of the bytes it
 * read (decode/column.ts copies every value out). A few are kept, and only for a moment after the
 * last one came back, so an idle process holds none.
 */
const KEEP = 4;
const KEEP_MS = 1_000;

const free: ArrayBuffer[] = [];
let dropTimer: NodeJS.Timeout | undefined;

/** Room allocated past a chunk's size, so that the next row group's chunks (a little larger or smaller) fit in it. */
const HEADROOM = 1.25;

/**
 * A buffer of at least `size` bytes, recycled when one is free (its old bytes are still in it). A
 * new one is not zeroed (every byte handed out is read into first) and has headroom.
 */
export function takeChunkBuffer(size: number): Uint8Array {
  const index = free.findIndex((buffer) => buffer.byteLength >= size);
  if (index < 0) return new Uint8Array(Buffer.allocUnsafeSlow(Math.ceil(size * HEADROOM)).buffer, 0, size);
  const [buffer] = free.splice(index, 1);
  return new Uint8Array(buffer!, 0, size);
}

/** Gives a buffer from `takeChunkBuffer` back, once nothing refers to its bytes any more. */
export function giveChunkBuffer(bytes: Uint8Array): void {
  if (!(bytes.buffer instanceof ArrayBuffer) || bytes.buffer.byteLength === 0) return;
  free.push(bytes.buffer);
  if (free.length > KEEP) free.sort((a, b) => b.byteLength - a.byteLength).length = KEEP;
  clearTimeout(dropTimer);
  dropTimer = setTimeout(() => (free.length = 0), KEEP_MS).unref();
}
