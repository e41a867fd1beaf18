/**
 * DELTA_BINARY_PACKED: a header (block size, miniblocks per block, value count, first value), then
 * blocks of a zigzag min delta, one bit width per miniblock and the bit-packed deltas. A used
 * miniblock is always stored whole; miniblocks past the last value are not stored at all.
 *
 * 32-bit values wrap as the writer's arithmetic did (`| 0`); 64-bit values are added as 32-bit
 * halves with carries, so no BigInt is made per value.
 */
import { type Cursor, NotHandled, uleb, unpack, unpack64, zigzag, zigzag64 } from "./bits.js";

interface Header {
  miniblocks: number;
  perMiniblock: number;
  total: number;
}

function header(c: Cursor): Header {
  const blockSize = uleb(c);
  const miniblocks = uleb(c);
  const total = uleb(c);
  const perMiniblock = blockSize / miniblocks;
  if (!Number.isInteger(perMiniblock) || perMiniblock % 8 !== 0 || miniblocks === 0) throw new NotHandled("bad DELTA_BINARY_PACKED header");
  return { miniblocks, perMiniblock, total };
}

/** Decodes 32-bit values into `out` from `at`; returns how many the header declared. */
export function deltaInt32(c: Cursor, out: Int32Array, at: number, room = out.length - at): number {
  const { miniblocks, perMiniblock, total } = header(c);
  if (total > room) throw new NotHandled("more delta values than expected");
  let value = zigzag(c) | 0;
  if (total === 0) return 0;
  out[at] = value;
  let done = 1;
  const deltas = new Uint32Array(perMiniblock);
  let high: Uint32Array | undefined;
  while (done < total) {
    const minDelta = zigzag(c);
    const widths = c.bytes.subarray(c.pos, c.pos + miniblocks);
    c.pos += miniblocks;
    for (let m = 0; m < miniblocks && done < total; m++) {
      const width = widths[m]!;
      const n = Math.min(perMiniblock, total - done);
      let o = at + done;
      // Width 0: every step is the minimum (sorted ids, regular timestamps, equal lengths).
      if (width === 0) {
        for (let i = 0; i < n; i++) {
          value = (value + minDelta) | 0;
          out[o++] = value;
        }
      } else {
        // Writers that take 32-bit steps in 64 bits (DuckDB) store widths past 32: the high bits are
        // multiples of 2^32, which 32-bit arithmetic drops, so only the low halves are needed.
        if (width > 32) unpack64(c.bytes, c.pos, width, n, deltas, (high ??= new Uint32Array(perMiniblock)));
        else unpack(c.bytes, c.pos, width, n, deltas, 0);
        for (let i = 0; i < n; i++) {
          value = (value + minDelta + deltas[i]!) | 0;
          out[o++] = value;
        }
      }
      c.pos += (perMiniblock * width) / 8;
      done += n;
    }
  }
  return total;
}

const TWO_32 = 4294967296;
/** 2^-32, exact: multiplying by it gives the same result as dividing by 2^32, faster. */
const INVERSE_TWO_32 = 1 / TWO_32;
/** Below this magnitude a running value and its next block of steps stay exact as doubles. */
const SAFE = 2 ** 52;

/** A signed 64-bit [low, high] pair as a double, or undefined beyond 2^52. */
function pairToNumber(lo: number, hi: number): number | undefined {
  const signedHi = hi | 0;
  return signedHi >= -(2 ** 20) && signedHi < 2 ** 20 ? signedHi * TWO_32 + lo : undefined;
}

/**
 * Decodes 64-bit values into `words` (two little-endian 32-bit words per value) from value `at`.
 * Where the values and steps stay well inside 2^53 (ids, timestamps) they are summed as doubles;
 * otherwise as 32-bit halves with carries. Either way no BigInt is made per value.
 */
export function deltaInt64(c: Cursor, words: Uint32Array, at: number, room = words.length / 2 - at): number {
  const { miniblocks, perMiniblock, total } = header(c);
  if (total > room) throw new NotHandled("more delta values than expected");
  let [lo, hi] = zigzag64(c);
  if (total === 0) return 0;
  words[2 * at] = lo;
  words[2 * at + 1] = hi;
  let done = 1;
  const deltaLo = new Uint32Array(perMiniblock);
  const deltaHi = new Uint32Array(perMiniblock);
  while (done < total) {
    const [minLo, minHi] = zigzag64(c);
    const widths = c.bytes.subarray(c.pos, c.pos + miniblocks);
    c.pos += miniblocks;
    const value = pairToNumber(lo, hi);
    const minDelta = pairToNumber(minLo, minHi);
    let narrow = value !== undefined && minDelta !== undefined && Math.abs(value) + miniblocks * perMiniblock * (Math.abs(minDelta) + TWO_32) < SAFE;
    for (let m = 0; m < miniblocks && done < total; m++) narrow &&= widths[m]! <= 32;
    for (let m = 0; m < miniblocks && done < total; m++) {
      const width = widths[m]!;
      const n = Math.min(perMiniblock, total - done);
      let o = 2 * (at + done);
      if (narrow) {
        let v = pairToNumber(lo, hi)!;
        const step = minDelta!;
        if (width === 0) {
          for (let i = 0; i < n; i++) {
            v += step;
            const low = v >>> 0;
            words[o++] = low;
            words[o++] = (v - low) * INVERSE_TWO_32;
          }
        } else {
          unpack(c.bytes, c.pos, width, n, deltaLo, 0);
          for (let i = 0; i < n; i++) {
            v += step + deltaLo[i]!;
            const low = v >>> 0;
            words[o++] = low;
            words[o++] = (v - low) * INVERSE_TWO_32;
          }
        }
        lo = words[o - 2]!;
        hi = words[o - 1]!;
      } else {
        unpack64(c.bytes, c.pos, width, n, deltaLo, deltaHi);
        for (let i = 0; i < n; i++) {
          // value += minDelta + delta, modulo 2^64.
          const sumLo = minLo + deltaLo[i]!;
          const sumHi = minHi + deltaHi[i]! + (sumLo > 0xffffffff ? 1 : 0);
          const nextLo = lo + (sumLo >>> 0);
          hi = (hi + sumHi + (nextLo > 0xffffffff ? 1 : 0)) >>> 0;
          lo = nextLo >>> 0;
          words[o++] = lo;
          words[o++] = hi;
        }
      }
      c.pos += (perMiniblock * width) / 8;
      done += n;
    }
  }
  return total;
}
