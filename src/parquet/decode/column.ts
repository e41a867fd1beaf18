/**
 * One flat column chunk (no repetition, at most one definition level) decoded from its pages into
 * the buffers of an Arrow column (arrow-data.ts makes them Arrow JS data of the column's type; this
 * module imports no Arrow, so a decoding worker loads none). Fixed-width values are kept as 32-bit
 * words (one or two per value) so 64-bit integers never become BigInts; byte arrays as offsets and
 * bytes.
 *
 * A page without nulls is decoded straight into the column's buffers; a page with nulls is decoded
 * densely first, then spread over its rows.
 *
 * Every value is copied out of the pages: nothing returned keeps a view of a page, because the
 * buffers the column chunks were read into are reused for the next row group (chunk-buffers.ts).
 */
import type { Arena } from "./arena.js";
import { type Cursor, NotHandled, rleHybrid } from "./bits.js";
import { deltaInt32, deltaInt64 } from "./delta.js";
import { Encoding, type Page } from "./pages.js";

export type Physical = "BOOLEAN" | "INT32" | "INT64" | "FLOAT" | "DOUBLE" | "BYTE_ARRAY";

/** Bytes per value of the fixed-width physical types. */
const WIDTH: Partial<Record<Physical, number>> = { INT32: 4, FLOAT: 4, INT64: 8, DOUBLE: 8 };

interface Column {
  /** Decodes `count` values (no nulls among them) into rows [at, at + count). */
  decode(encoding: number, c: Cursor, count: number, at: number): void;
  /** Decodes the page's present values, then spreads them over rows [at, at + defined.length). */
  decodeSparse(encoding: number, c: Cursor, present: number, defined: Uint8Array, at: number): void;
  setDictionary(c: Cursor, count: number): void;
  finish(validity: Validity): DecodedColumn;
}

/** A decoded column chunk: the buffers of one Arrow column, of one of three shapes. */
export interface DecodedColumn {
  rows: number;
  nullCount: number;
  /** Present when nullCount > 0. */
  nullBitmap?: Uint8Array;
  /** Fixed-width values: one 32-bit word per value (INT32, FLOAT), two (INT64, DOUBLE). */
  words?: Uint32Array;
  /** Byte arrays: rows + 1 offsets into `data`. */
  offsets?: Int32Array;
  data?: Uint8Array;
  /** Booleans, one bit per row. */
  bits?: Uint8Array;
}

/** `arena`: where fixed-width values and string offsets are allocated, when the read has one. */
export function decodeColumn(physical: Physical, optional: boolean, pages: Page[], rows: number, arena?: Arena): DecodedColumn {
  const column: Column =
    physical === "BYTE_ARRAY" ? new ByteArrayColumn(rows, arena) : physical === "BOOLEAN" ? new BooleanColumn(rows) : new FixedColumn(rows, physical, arena);
  const validity = new Validity(rows);
  let position = 0;
  for (const page of pages) {
    const c: Cursor = { bytes: page.body, pos: 0 };
    if (page.dictionary) {
      if (page.encoding !== Encoding.Plain && page.encoding !== Encoding.PlainDictionary) throw new NotHandled("dictionary page not PLAIN");
      column.setDictionary(c, page.values);
      continue;
    }
    if (position + page.values > rows) throw new NotHandled("more values than rows");
    const defined = optional ? definitionLevels(c, page) : undefined;
    if (page.levelsV2 !== undefined) c.pos = page.levelsV2;
    const present = defined ? countOnes(defined) : page.values;
    if (present === page.values) column.decode(page.encoding, c, present, position);
    else {
      column.decodeSparse(page.encoding, c, present, defined!, position);
      validity.mark(defined!, position);
    }
    position += page.values;
  }
  if (position !== rows) throw new NotHandled(`column chunk holds ${position} values, not ${rows}`);
  return column.finish(validity);
}

/** Version 1 pages: a 4-byte length, then the levels; version 2: the levels' length is in the header. */
function definitionLevels(c: Cursor, page: Page): Uint8Array {
  let end: number;
  if (page.levelsV2 !== undefined) end = page.levelsV2;
  else {
    if (page.levelEncoding !== Encoding.Rle) throw new NotHandled(`definition levels encoded ${page.levelEncoding}`);
    end = 4 + readInt32(c.bytes, 0);
    c.pos = 4;
  }
  const levels = new Uint8Array(page.values);
  rleHybrid(c, end, 1, page.values, levels);
  c.pos = end;
  return levels;
}

function readInt32(bytes: Uint8Array, at: number): number {
  if (at + 4 > bytes.length) throw new NotHandled("page ends inside a length");
  return bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24);
}

function countOnes(levels: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < levels.length; i++) n += levels[i]!;
  return n;
}

let scratchBuffer = new Int32Array(0);

/**
 * A scratch array for per-page indices and lengths, reused page after page: decoding is
 * synchronous, and fresh arrays of tens of MB per read only fed the garbage collector.
 */
function scratch(count: number): Int32Array {
  if (scratchBuffer.length < count) scratchBuffer = new Int32Array(Math.max(count, 2 * scratchBuffer.length));
  return scratchBuffer.subarray(0, count);
}

/**
 * A typed array whose memory is not zeroed first (as `Buffer.allocUnsafeSlow`: its own ArrayBuffer,
 * never Node's shared pool), for buffers every element of which is written before use. Zeroing
 * hundreds of MB of results showed in whole-table reads.
 */
function uninitialised<T extends Uint8Array | Int32Array | Uint32Array>(
  ArrayType: { new (buffer: ArrayBuffer, offset: number, length: number): T; BYTES_PER_ELEMENT: number },
  length: number,
): T {
  const bytes = Buffer.allocUnsafeSlow(length * ArrayType.BYTES_PER_ELEMENT);
  return new ArrayType(bytes.buffer, bytes.byteOffset, length);
}

/** Dictionary indices: a bit-width byte, then the hybrid (in the scratch array). */
function dictionaryIndices(c: Cursor, count: number, size: number): Int32Array {
  const width = c.bytes[c.pos++] ?? 0;
  const indices = scratch(count);
  rleHybrid(c, c.bytes.length, width, count, indices);
  for (let i = 0; i < count; i++) if (indices[i]! >= size || indices[i]! < 0) throw new NotHandled("dictionary index out of range");
  return indices;
}

const isDictionary = (encoding: number) => encoding === Encoding.RleDictionary || encoding === Encoding.PlainDictionary;

/** The validity bitmap, made on the first null. */
class Validity {
  bitmap: Uint8Array | undefined;
  nulls = 0;

  constructor(readonly rows: number) {}

  /** Marks rows [at, at + defined.length) from their definition levels (1 present, 0 null). */
  mark(defined: Uint8Array, at: number): void {
    this.bitmap ??= new Uint8Array((this.rows + 7) >>> 3).fill(0xff);
    const bitmap = this.bitmap;
    for (let i = 0; i < defined.length; i++) {
      if (defined[i] === 0) {
        bitmap[(at + i) >>> 3]! &= ~(1 << ((at + i) & 7));
        this.nulls++;
      }
    }
  }

  props(): { rows: number; nullCount: number; nullBitmap?: Uint8Array } {
    const { rows } = this;
    return this.nulls > 0 && this.bitmap ? { rows, nullCount: this.nulls, nullBitmap: this.bitmap } : { rows, nullCount: 0 };
  }
}

class FixedColumn implements Column {
  readonly words: Uint32Array;
  readonly wordsPerValue: number;
  dictionary: Uint32Array | undefined;

  constructor(
    readonly rows: number,
    readonly physical: Physical,
    arena?: Arena,
  ) {
    this.wordsPerValue = WIDTH[physical]! / 4;
    // Every slot is written (null ones with zeros), so the buffer need not be zeroed first.
    this.words = arena?.take(Uint32Array, rows * this.wordsPerValue) ?? uninitialised(Uint32Array, rows * this.wordsPerValue);
  }

  setDictionary(c: Cursor, count: number): void {
    this.dictionary = new Uint32Array(count * this.wordsPerValue);
    this.#plain(c, count, this.dictionary, 0);
  }

  decode(encoding: number, c: Cursor, count: number, at: number): void {
    this.#decodeInto(encoding, c, count, this.words, at);
  }

  decodeSparse(encoding: number, c: Cursor, present: number, defined: Uint8Array, at: number): void {
    const w = this.wordsPerValue;
    const dense = new Uint32Array(present * w);
    this.#decodeInto(encoding, c, present, dense, 0);
    let k = 0;
    for (let i = 0; i < defined.length; i++) {
      if (defined[i] === 0) {
        for (let j = 0; j < w; j++) this.words[(at + i) * w + j] = 0;
        continue;
      }
      for (let j = 0; j < w; j++) this.words[(at + i) * w + j] = dense[k * w + j]!;
      k++;
    }
  }

  #decodeInto(encoding: number, c: Cursor, count: number, out: Uint32Array, at: number): void {
    const w = this.wordsPerValue;
    if (encoding === Encoding.Plain) return this.#plain(c, count, out, at);
    if (isDictionary(encoding)) {
      const dictionary = this.dictionary;
      if (!dictionary) throw new NotHandled("dictionary-encoded page without a dictionary");
      const indices = dictionaryIndices(c, count, dictionary.length / w);
      if (w === 1) for (let i = 0; i < count; i++) out[at + i] = dictionary[indices[i]!]!;
      else {
        for (let i = 0, o = at * 2; i < count; i++, o += 2) {
          const d = indices[i]! * 2;
          out[o] = dictionary[d]!;
          out[o + 1] = dictionary[d + 1]!;
        }
      }
      return;
    }
    if (encoding === Encoding.DeltaBinaryPacked) {
      const declared =
        this.physical === "INT32"
          ? deltaInt32(c, new Int32Array(out.buffer, out.byteOffset, out.length), at, count)
          : this.physical === "INT64"
            ? deltaInt64(c, out, at, count)
            : -1;
      if (declared !== count) throw new NotHandled(`DELTA_BINARY_PACKED ${this.physical}: ${declared} values, not ${count}`);
      return;
    }
    if (encoding === Encoding.ByteStreamSplit) return byteStreamSplit(c, count, w * 4, out, at);
    throw new NotHandled(`encoding ${encoding} for ${this.physical}`);
  }

  #plain(c: Cursor, count: number, out: Uint32Array, at: number): void {
    const bytes = count * this.wordsPerValue * 4;
    if (c.pos + bytes > c.bytes.length) throw new NotHandled("PLAIN values end early");
    new Uint8Array(out.buffer, out.byteOffset + at * this.wordsPerValue * 4, bytes).set(c.bytes.subarray(c.pos, c.pos + bytes));
    c.pos += bytes;
  }

  finish(validity: Validity): DecodedColumn {
    return { ...validity.props(), words: this.words };
  }
}

/** BYTE_STREAM_SPLIT: byte k of every value stored together; put back value by value. */
function byteStreamSplit(c: Cursor, count: number, width: number, out: Uint32Array, at: number): void {
  const src = c.bytes;
  const base = c.pos;
  if (base + count * width > src.length) throw new NotHandled("BYTE_STREAM_SPLIT values end early");
  c.pos = base + count * width;
  if (LITTLE_ENDIAN && count % 4 === 0 && (src.byteOffset + base) % 4 === 0) {
    const words = new Uint32Array(src.buffer, src.byteOffset + base, (count * width) / 4);
    return width === 4 ? unsplit4(words, count / 4, out, at) : unsplit8(words, count / 4, out, at * 2);
  }
  const b0 = base;
  const b1 = base + count;
  const b2 = base + 2 * count;
  const b3 = base + 3 * count;
  if (width === 4) {
    for (let i = 0; i < count; i++) out[at + i] = src[b0 + i]! | (src[b1 + i]! << 8) | (src[b2 + i]! << 16) | (src[b3 + i]! << 24);
  } else {
    const b4 = base + 4 * count;
    const b5 = base + 5 * count;
    const b6 = base + 6 * count;
    const b7 = base + 7 * count;
    for (let i = 0, o = at * 2; i < count; i++, o += 2) {
      out[o] = src[b0 + i]! | (src[b1 + i]! << 8) | (src[b2 + i]! << 16) | (src[b3 + i]! << 24);
      out[o + 1] = src[b4 + i]! | (src[b5 + i]! << 8) | (src[b6 + i]! << 16) | (src[b7 + i]! << 24);
    }
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * BYTE_STREAM_SPLIT of 4-byte values read a word (4 values' bytes) per stream at a time and put
 * back with shifts: a third less time than a load per byte. `quads` groups of 4 values.
 */
function unsplit4(w: Uint32Array, quads: number, out: Uint32Array, o: number): void {
  for (let j = 0; j < quads; j++, o += 4) {
    const a0 = w[j]!;
    const a1 = w[quads + j]!;
    const a2 = w[2 * quads + j]!;
    const a3 = w[3 * quads + j]!;
    out[o] = (a0 & 0xff) | ((a1 & 0xff) << 8) | ((a2 & 0xff) << 16) | (a3 << 24);
    out[o + 1] = ((a0 >>> 8) & 0xff) | (a1 & 0xff00) | ((a2 & 0xff00) << 8) | ((a3 >>> 8) << 24);
    out[o + 2] = ((a0 >>> 16) & 0xff) | ((a1 >>> 8) & 0xff00) | (a2 & 0xff0000) | ((a3 >>> 16) << 24);
    out[o + 3] = (a0 >>> 24) | ((a1 >>> 16) & 0xff00) | ((a2 >>> 8) & 0xff0000) | (a3 & 0xff000000);
  }
}

/** As `unsplit4`, for 8-byte values (two words each, from `o`). */
function unsplit8(w: Uint32Array, quads: number, out: Uint32Array, o: number): void {
  for (let j = 0; j < quads; j++, o += 8) {
    const a0 = w[j]!;
    const a1 = w[quads + j]!;
    const a2 = w[2 * quads + j]!;
    const a3 = w[3 * quads + j]!;
    const a4 = w[4 * quads + j]!;
    const a5 = w[5 * quads + j]!;
    const a6 = w[6 * quads + j]!;
    const a7 = w[7 * quads + j]!;
    out[o] = (a0 & 0xff) | ((a1 & 0xff) << 8) | ((a2 & 0xff) << 16) | (a3 << 24);
    out[o + 1] = (a4 & 0xff) | ((a5 & 0xff) << 8) | ((a6 & 0xff) << 16) | (a7 << 24);
    out[o + 2] = ((a0 >>> 8) & 0xff) | (a1 & 0xff00) | ((a2 & 0xff00) << 8) | ((a3 >>> 8) << 24);
    out[o + 3] = ((a4 >>> 8) & 0xff) | (a5 & 0xff00) | ((a6 & 0xff00) << 8) | ((a7 >>> 8) << 24);
    out[o + 4] = ((a0 >>> 16) & 0xff) | ((a1 >>> 8) & 0xff00) | (a2 & 0xff0000) | ((a3 >>> 16) << 24);
    out[o + 5] = ((a4 >>> 16) & 0xff) | ((a5 >>> 8) & 0xff00) | (a6 & 0xff0000) | ((a7 >>> 16) << 24);
    out[o + 6] = (a0 >>> 24) | ((a1 >>> 16) & 0xff00) | ((a2 >>> 8) & 0xff0000) | (a3 & 0xff000000);
    out[o + 7] = (a4 >>> 24) | ((a5 >>> 16) & 0xff00) | ((a6 >>> 8) & 0xff0000) | (a7 & 0xff000000);
  }
}

class BooleanColumn implements Column {
  readonly bits: Uint8Array;
  dictionary: Uint8Array | undefined;

  constructor(readonly rows: number) {
    this.bits = new Uint8Array((rows + 7) >>> 3);
  }

  setDictionary(c: Cursor, count: number): void {
    this.dictionary = this.#values(Encoding.Plain, c, count);
  }

  decode(encoding: number, c: Cursor, count: number, at: number): void {
    const values = this.#values(encoding, c, count);
    for (let i = 0; i < count; i++) if (values[i]) this.bits[(at + i) >>> 3]! |= 1 << ((at + i) & 7);
  }

  decodeSparse(encoding: number, c: Cursor, present: number, defined: Uint8Array, at: number): void {
    const values = this.#values(encoding, c, present);
    for (let i = 0, k = 0; i < defined.length; i++) {
      if (defined[i] === 0) continue;
      if (values[k++]) this.bits[(at + i) >>> 3]! |= 1 << ((at + i) & 7);
    }
  }

  /** One byte per value, 0 or 1. */
  #values(encoding: number, c: Cursor, count: number): Uint8Array {
    const out = new Uint8Array(count);
    if (encoding === Encoding.Plain) {
      const base = c.pos;
      if (base + ((count + 7) >>> 3) > c.bytes.length) throw new NotHandled("PLAIN booleans end early");
      for (let i = 0; i < count; i++) out[i] = (c.bytes[base + (i >>> 3)]! >>> (i & 7)) & 1;
      c.pos += (count + 7) >>> 3;
    } else if (encoding === Encoding.Rle) {
      const length = readInt32(c.bytes, c.pos);
      c.pos += 4;
      rleHybrid(c, c.pos + length, 1, count, out);
    } else if (isDictionary(encoding) && this.dictionary) {
      const indices = dictionaryIndices(c, count, this.dictionary.length);
      for (let i = 0; i < count; i++) out[i] = this.dictionary[indices[i]!]!;
    } else throw new NotHandled(`encoding ${encoding} for BOOLEAN`);
    return out;
  }

  finish(validity: Validity): DecodedColumn {
    return { ...validity.props(), bits: this.bits };
  }
}

/**
 * Byte arrays: offsets for every row, and the values' bytes in one buffer that pages append to
 * (sized from the first page, grown by doubling), so the result's data is that buffer with no
 * joining copy at the end.
 */
class ByteArrayColumn implements Column {
  readonly offsets: Int32Array;
  data = new Uint8Array(0);
  length = 0;
  dictionary: { offsets: Int32Array; data: Uint8Array; packed: PackedDictionary | undefined } | undefined;

  constructor(
    readonly rows: number,
    readonly arena?: Arena,
  ) {
    // Every offset is written as pages are decoded.
    this.offsets = arena?.take(Int32Array, rows + 1) ?? uninitialised(Int32Array, rows + 1);
    this.offsets[0] = 0;
  }

  setDictionary(c: Cursor, count: number): void {
    const offsets = new Int32Array(count + 1);
    const data = plainByteArrays(c, count, offsets, 0, 0);
    this.dictionary = { offsets, data, packed: packDictionary(offsets, data) };
  }

  decode(encoding: number, c: Cursor, count: number, at: number): void {
    this.#decodeInto(encoding, c, count, this.offsets, at, this.length);
  }

  decodeSparse(encoding: number, c: Cursor, present: number, defined: Uint8Array, at: number): void {
    const dense = new Int32Array(present + 1);
    const base = this.length;
    this.#decodeInto(encoding, c, present, dense, 0, base);
    dense[0] = base;
    for (let i = 0, k = 0; i < defined.length; i++) {
      if (defined[i] !== 0) k++;
      this.offsets[at + i + 1] = dense[k]!;
    }
  }

  /**
   * Room for `bytes` more (and `slack` past them for a word-wise writer) for a page of `values`
   * values. The first page sizes the buffer for the whole chunk, scaled by rows.
   */
  #reserve(bytes: number, values: number, slack = 0): Uint8Array {
    const needed = this.length + bytes + slack;
    if (this.length + bytes > 0x7fffffff) throw new NotHandled("over 2 GiB of strings in a row group");
    if (needed > this.data.length) {
      const estimate = this.length === 0 && values > 0 ? Math.ceil((bytes * this.rows * 1.05) / values) + slack : 0;
      // Not zeroed: what is handed out is written first, and `finish` zeroes what is left over.
      const size = Math.max(needed, estimate, 2 * this.data.length);
      const grown = (this.length === 0 ? this.arena?.take(Uint8Array, size) : undefined) ?? uninitialised(Uint8Array, size);
      grown.set(this.data.subarray(0, this.length));
      this.data = grown;
    }
    return this.data;
  }

  #append(bytes: Uint8Array, values: number): void {
    this.#reserve(bytes.length, values).set(bytes, this.length);
    this.length += bytes.length;
  }

  /** Writes offsets[at + 1 .. at + count] (from `base`) and appends the values' bytes. */
  #decodeInto(encoding: number, c: Cursor, count: number, offsets: Int32Array, at: number, base: number): void {
    if (encoding === Encoding.Plain) return this.#append(plainByteArrays(c, count, offsets, at, base), count);
    if (encoding === Encoding.DeltaLengthByteArray) {
      const lengths = scratch(count);
      if (deltaInt32(c, lengths, 0) !== count) throw new NotHandled("DELTA_LENGTH_BYTE_ARRAY count differs from the page's");
      let total = 0;
      for (let i = 0; i < count; i++) {
        total += lengths[i]!;
        offsets[at + i + 1] = base + total;
      }
      if (c.pos + total > c.bytes.length) throw new NotHandled("DELTA_LENGTH_BYTE_ARRAY data ends early");
      this.#append(c.bytes.subarray(c.pos, c.pos + total), count);
      c.pos += total;
      return;
    }
    if (encoding === Encoding.DeltaByteArray) return this.#append(deltaByteArray(c, count, offsets, at, base), count);
    if (isDictionary(encoding)) {
      const dictionary = this.dictionary;
      if (!dictionary) throw new NotHandled("dictionary-encoded page without a dictionary");
      const indices = dictionaryIndices(c, count, dictionary.offsets.length - 1);
      const from = dictionary.offsets;
      let total = 0;
      for (let i = 0; i < count; i++) {
        const index = indices[i]!;
        total += from[index + 1]! - from[index]!;
        offsets[at + i + 1] = base + total;
      }
      const packed = dictionary.packed;
      const out = this.#reserve(total, count, packed ? packed.wordsPerEntry * 4 : 0);
      if (packed) gatherPacked(packed, from, indices, count, out, this.length);
      else {
        const source = dictionary.data;
        for (let i = 0, p = this.length; i < count; i++) {
          const index = indices[i]!;
          const start = from[index]!;
          const end = from[index + 1]!;
          if (end - start > 32) out.set(source.subarray(start, end), p);
          else for (let k = start; k < end; k++) out[p + k - start] = source[k]!;
          p += end - start;
        }
      }
      this.length += total;
      return;
    }
    throw new NotHandled(`encoding ${encoding} for BYTE_ARRAY`);
  }

  finish(validity: Validity): DecodedColumn {
    // A buffer sized by a first page unlike the rest is trimmed, rather than kept a quarter empty;
    // the room left in one that is kept is zeroed, as it stays reachable through the result's buffer.
    const trim = this.data.length > this.length * 1.25 + 64;
    if (!trim) this.data.fill(0, this.length);
    const data = trim ? this.data.slice(0, this.length) : this.data.subarray(0, this.length);
    return { ...validity.props(), offsets: this.offsets, data };
  }
}

/**
 * DELTA_BYTE_ARRAY: prefix lengths and suffix lengths (both delta-packed), then the suffixes; each
 * value is that many leading bytes of the value before it, then its suffix.
 */
function deltaByteArray(c: Cursor, count: number, offsets: Int32Array, at: number, base: number): Uint8Array {
  const prefixes = new Int32Array(count);
  const suffixes = new Int32Array(count);
  if (deltaInt32(c, prefixes, 0) !== count || deltaInt32(c, suffixes, 0) !== count) throw new NotHandled("DELTA_BYTE_ARRAY count differs from the page's");
  let total = 0;
  for (let i = 0; i < count; i++) total += prefixes[i]! + suffixes[i]!;
  const data = new Uint8Array(total);
  const { bytes } = c;
  let p = c.pos;
  let previous = 0;
  let previousLength = 0;
  for (let i = 0, o = 0; i < count; i++) {
    const prefix = prefixes[i]!;
    const suffix = suffixes[i]!;
    if (prefix > previousLength || prefix < 0 || suffix < 0 || p + suffix > bytes.length) throw new NotHandled("bad DELTA_BYTE_ARRAY value");
    data.copyWithin(o, previous, previous + prefix);
    data.set(bytes.subarray(p, p + suffix), o + prefix);
    p += suffix;
    previous = o;
    previousLength = prefix + suffix;
    o += previousLength;
    offsets[at + i + 1] = base + o;
  }
  c.pos = p;
  return data;
}

/** PLAIN byte arrays (each a 4-byte length, then its bytes): offsets[at + 1 ..] from `base`, and the bytes. */
function plainByteArrays(c: Cursor, count: number, offsets: Int32Array, at: number, base: number): Uint8Array {
  const { bytes } = c;
  let p = c.pos;
  let total = 0;
  for (let i = 0; i < count; i++) {
    const length = readInt32(bytes, p);
    p += 4 + length;
    total += length;
    offsets[at + i + 1] = base + total;
  }
  if (p > bytes.length) throw new NotHandled("PLAIN byte array ends early");
  const data = new Uint8Array(total);
  p = c.pos;
  for (let i = 0, o = 0; i < count; i++) {
    const length = readInt32(bytes, p);
    p += 4;
    if (length > 32) data.set(bytes.subarray(p, p + length), o);
    else for (let k = 0; k < length; k++) data[o + k] = bytes[p + k]!;
    p += length;
    o += length;
  }
  c.pos = p;
  return data;
}

/** A dictionary of short values (categories) as whole 32-bit words per entry, zero-padded. */
interface PackedDictionary {
  words: Uint32Array;
  wordsPerEntry: number;
}

const MAX_PACKED_BYTES = 16;

function packDictionary(offsets: Int32Array, data: Uint8Array): PackedDictionary | undefined {
  const count = offsets.length - 1;
  let longest = 0;
  for (let i = 0; i < count; i++) longest = Math.max(longest, offsets[i + 1]! - offsets[i]!);
  if (longest === 0 || longest > MAX_PACKED_BYTES) return undefined;
  const wordsPerEntry = (longest + 3) >>> 2;
  const words = new Uint32Array(count * wordsPerEntry);
  const bytes = new Uint8Array(words.buffer);
  for (let i = 0; i < count; i++) bytes.set(data.subarray(offsets[i], offsets[i + 1]), i * wordsPerEntry * 4);
  return { words, wordsPerEntry };
}

/**
 * The values of `indices` joined into `out` from `at`, from a packed dictionary: each value is
 * written as whole words (unaligned, through a DataView), the next one starting where the value
 * really ends and overwriting the padding. About twice as fast as copying byte by byte; `out` must
 * have room for the last value's padding.
 */
function gatherPacked(packed: PackedDictionary, offsets: Int32Array, indices: Int32Array, count: number, out: Uint8Array, at: number): void {
  const { words, wordsPerEntry } = packed;
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let p = at;
  if (wordsPerEntry === 1) {
    for (let i = 0; i < count; i++) {
      const index = indices[i]!;
      view.setUint32(p, words[index]!, true);
      p += offsets[index + 1]! - offsets[index]!;
    }
  } else if (wordsPerEntry === 2) {
    for (let i = 0; i < count; i++) {
      const index = indices[i]!;
      view.setUint32(p, words[2 * index]!, true);
      view.setUint32(p + 4, words[2 * index + 1]!, true);
      p += offsets[index + 1]! - offsets[index]!;
    }
  } else {
    for (let i = 0; i < count; i++) {
      const index = indices[i]!;
      for (let w = 0, from = index * wordsPerEntry; w < wordsPerEntry; w++) view.setUint32(p + 4 * w, words[from + w]!, true);
      p += offsets[index + 1]! - offsets[index]!;
    }
  }
}
