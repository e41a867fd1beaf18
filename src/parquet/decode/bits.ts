/**
 * Parquet's bit-level building blocks: ULEB128 varints (as plain numbers, or as 32-bit halves when
 * they may hold 64 bits), zigzag, LSB-first bit unpacking and the RLE/bit-packed hybrid that
 * carries definition levels and dictionary indices.
 */

/** Thrown where a page uses something this decoder does not handle; the caller falls back to parquet-wasm. */
export class NotHandled extends Error {}

/** A read position in a page's bytes. */
export interface Cursor {
  bytes: Uint8Array;
  pos: number;
}

function next(c: Cursor): number {
  const b = c.bytes[c.pos++];
  if (b === undefined) throw new NotHandled("page ends inside a value");
  return b;
}

/** An unsigned varint as a number (exact up to 2^53, which every count and length is). */
export function uleb(c: Cursor): number {
  let result = 0;
  let scale = 1;
  for (;;) {
    const b = next(c);
    result += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return result;
    scale *= 128;
  }
}

/** A zigzag varint as a number: enough for 32-bit columns, whose deltas fit in 34 bits. */
export function zigzag(c: Cursor): number {
  const n = uleb(c);
  return n % 2 === 1 ? -(n + 1) / 2 : n / 2;
}

/** A zigzag varint of up to 64 bits, as [low, high] unsigned 32-bit halves. */
export function zigzag64(c: Cursor): [number, number] {
  let lo = 0;
  let hi = 0;
  let shift = 0;
  for (;;) {
    const b = next(c);
    const bits = b & 0x7f;
    if (shift < 32) {
      lo |= bits << shift;
      if (shift > 25) hi |= bits >>> (32 - shift);
    } else if (shift < 64) hi |= bits << (shift - 32);
    shift += 7;
    if ((b & 0x80) === 0) break;
  }
  let l = (lo >>> 1) | (hi << 31);
  let h = hi >>> 1;
  if (lo & 1) {
    l = ~l;
    h = ~h;
  }
  return [l >>> 0, h >>> 0];
}

/** `width` bits (at most 32) at bit `bit`, LSB first, read byte by byte (past the end reads zeros). */
function bitsAt(bytes: Uint8Array, bit: number, width: number): number {
  let value = 0;
  let got = 0;
  let byte = bit >>> 3;
  let skip = bit & 7;
  while (got < width) {
    const available = 8 - skip;
    const take = Math.min(available, width - got);
    const piece = ((bytes[byte] ?? 0) >>> skip) & ((1 << take) - 1);
    value += piece * 2 ** got;
    got += take;
    byte++;
    skip = 0;
  }
  return value;
}

/**
 * Unpacks `count` values of `width` bits (at most 32) starting at byte `pos` into `out` from
 * `at`. Widths up to 24 use a 32-bit accumulator (the common case: lengths, indices, small deltas).
 */
export function unpack(bytes: Uint8Array, pos: number, width: number, count: number, out: Uint32Array | Int32Array, at: number): void {
  if (width === 0) {
    out.fill(0, at, at + count);
    return;
  }
  if (width <= 24) {
    const mask = (1 << width) - 1;
    let acc = 0;
    let bits = 0;
    let p = pos;
    const end = bytes.length;
    for (let i = 0; i < count; i++) {
      while (bits < width) {
        acc |= (p < end ? bytes[p]! : 0) << bits;
        p++;
        bits += 8;
      }
      out[at + i] = acc & mask;
      acc >>>= width;
      bits -= width;
    }
    return;
  }
  if (width > 32) throw new NotHandled(`bit width ${width}`);
  for (let i = 0; i < count; i++) out[at + i] = bitsAt(bytes, pos * 8 + i * width, width);
}

/** Like `unpack`, for widths up to 64: low halves into `lo`, high halves into `hi`. */
export function unpack64(bytes: Uint8Array, pos: number, width: number, count: number, lo: Uint32Array, hi: Uint32Array): void {
  if (width <= 32) {
    unpack(bytes, pos, width, count, lo, 0);
    hi.fill(0, 0, count);
    return;
  }
  if (width > 64) throw new NotHandled(`bit width ${width}`);
  for (let i = 0; i < count; i++) {
    const bit = pos * 8 + i * width;
    lo[i] = bitsAt(bytes, bit, 32);
    hi[i] = bitsAt(bytes, bit + 32, width - 32);
  }
}

/**
 * The RLE/bit-packed hybrid: `count` values of `width` bits from `c.pos` (up to `end`) into `out`
 * from `at`. Leaves the cursor after the last run read.
 */
export function rleHybrid(c: Cursor, end: number, width: number, count: number, out: Int32Array | Uint8Array, at = 0): void {
  const valueBytes = (width + 7) >>> 3;
  let done = 0;
  let scratch: Int32Array | undefined;
  while (done < count) {
    if (c.pos >= end) throw new NotHandled("RLE data ends early");
    const header = uleb(c);
    if (header % 2 === 0) {
      const run = header / 2;
      let value = 0;
      for (let i = 0; i < valueBytes; i++) value += next(c) * 2 ** (8 * i);
      const n = Math.min(run, count - done);
      out.fill(value, at + done, at + done + n);
      done += n;
    } else {
      const groups = (header - 1) / 2;
      const n = Math.min(groups * 8, count - done);
      if (out instanceof Int32Array) unpack(c.bytes, c.pos, width, n, out, at + done);
      else {
        scratch = scratch && scratch.length >= n ? scratch : new Int32Array(n);
        unpack(c.bytes, c.pos, width, n, scratch, 0);
        for (let i = 0; i < n; i++) out[at + done + i] = scratch[i]!;
      }
      c.pos += groups * width;
      done += n;
    }
  }
}
