/**
 * Gathers rows from one or more Arrow chunks into a new chunk: the kernel behind partitioning,
 * row filters and shuffling (Arrow JS has no compute kernels of its own).
 *
 * A pick is (chunk, row): `chunks[chunkOf[i]]` row `rowOf[i]` becomes output row i. Works on the
 * raw buffers for fixed-width, boolean, string/binary, list, struct and dictionary types; anything
 * else falls back to Arrow's builders.
 *
 * Arrow JS slicing conventions this relies on: validity bitmaps and boolean values are addressed at
 * `data.offset + i`; fixed-width values, offsets and struct children are already sliced, so they
 * are addressed at `i`; list children are addressed through the offsets.
 */
import { type Data, type DataType, makeBuilder, makeData, makeVector, Type, type Vector } from "apache-arrow";

export interface Picks {
  chunkOf: Uint32Array;
  rowOf: Uint32Array;
}

/** Picks from a single chunk. */
export function picksOf(rows: ArrayLike<number>): Picks {
  return { chunkOf: new Uint32Array(rows.length), rowOf: Uint32Array.from(rows) };
}

export function take<T extends DataType>(chunks: readonly Data<T>[], picks: Picks): Data<T> {
  return takeAny(chunks as readonly Data[], picks) as Data<T>;
}

function takeAny(chunks: readonly Data[], picks: Picks): Data {
  const type = chunks[0]!.type;
  const length = picks.rowOf.length;
  const { nullBitmap, nullCount } = gatherValidity(chunks, picks);
  switch (type.typeId) {
    case Type.Null:
      return makeData({ type, length, nullCount: length } as never);
    case Type.Bool:
      return makeData({ type, length, nullCount, nullBitmap, data: gatherBits(chunks, picks) } as never);
    case Type.Int:
    case Type.Float:
    case Type.Date:
    case Type.Time:
    case Type.Timestamp:
    case Type.Interval:
    case Type.Duration:
    case Type.Decimal:
    case Type.FixedSizeBinary:
      return makeData({ type, length, nullCount, nullBitmap, data: gatherFixed(chunks, picks) } as never);
    case Type.Utf8:
    case Type.Binary:
    case Type.LargeUtf8:
    case Type.LargeBinary: {
      const { offsets, values } = gatherVariable(chunks, picks);
      return makeData({ type, length, nullCount, nullBitmap, valueOffsets: offsets, data: values } as never);
    }
    case Type.List:
    case Type.Map: {
      const { offsets, childPicks } = gatherListOffsets(chunks, picks);
      const child = takeAny(
        chunks.map((c) => c.children[0]!),
        childPicks,
      );
      return makeData({ type, length, nullCount, nullBitmap, valueOffsets: offsets, child } as never);
    }
    case Type.Struct: {
      const children = type.children.map((_, k) =>
        takeAny(
          chunks.map((c) => c.children[k]!),
          picks,
        ),
      );
      return makeData({ type, length, nullCount, nullBitmap, children } as never);
    }
    case Type.Dictionary:
      return takeDictionary(chunks, picks, nullBitmap, nullCount);
    default:
      return takeWithBuilder(chunks, picks);
  }
}

function isValid(data: Data, row: number): boolean {
  if (data.nullCount === 0 || !data.nullBitmap || data.nullBitmap.length === 0) return true;
  const bit = data.offset + row;
  return ((data.nullBitmap[bit >> 3]! >> (bit & 7)) & 1) === 1;
}

function gatherValidity(chunks: readonly Data[], { chunkOf, rowOf }: Picks): { nullBitmap: Uint8Array | undefined; nullCount: number } {
  if (chunks.every((c) => c.nullCount === 0)) return { nullBitmap: undefined, nullCount: 0 };
  const length = rowOf.length;
  const bitmap = new Uint8Array(((length + 63) >> 6) << 3);
  let nulls = 0;
  for (let i = 0; i < length; i++) {
    if (isValid(chunks[chunkOf[i]!]!, rowOf[i]!)) bitmap[i >> 3]! |= 1 << (i & 7);
    else nulls++;
  }
  return { nullBitmap: nulls === 0 ? undefined : bitmap, nullCount: nulls };
}

function gatherBits(chunks: readonly Data[], { chunkOf, rowOf }: Picks): Uint8Array {
  const length = rowOf.length;
  const out = new Uint8Array(((length + 63) >> 6) << 3);
  for (let i = 0; i < length; i++) {
    const data = chunks[chunkOf[i]!]!;
    const bit = data.offset + rowOf[i]!;
    if ((data.values[bit >> 3] >> (bit & 7)) & 1) out[i >> 3]! |= 1 << (i & 7);
  }
  return out;
}

type TypedArray = Uint8Array | Int32Array | Float64Array | BigInt64Array | Uint32Array;
type TypedArrayConstructor = new (length: number) => TypedArray;

/**
 * Values are moved as 32-bit words (or bytes), never read as values: reading a BigInt64Array
 * element allocates a BigInt, and going through a float would not keep every NaN's bits.
 */
function gatherFixed(chunks: readonly Data[], { chunkOf, rowOf }: Picks): TypedArray {
  const first = chunks[0]!;
  const values = chunks.map((c) => c.values as TypedArray);
  const rowBytes = first.stride * values[0]!.BYTES_PER_ELEMENT;
  const out = new ArrayBuffer(rowOf.length * rowBytes);
  const aligned = rowBytes % 4 === 0 && values.every((v) => v.byteOffset % 4 === 0);
  if (aligned) {
    const words = values.map((v) => new Int32Array(v.buffer, v.byteOffset, v.byteLength >> 2));
    gatherUnits(words, rowBytes >> 2, new Int32Array(out), chunkOf, rowOf);
  } else {
    const bytes = values.map((v) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    gatherUnits(bytes, rowBytes, new Uint8Array(out), chunkOf, rowOf);
  }
  return new (first.values.constructor as new (buffer: ArrayBuffer) => TypedArray)(out);
}

/** Copies `width` units per row; the common widths get loops of their own. */
function gatherUnits<T extends Int32Array | Uint8Array>(sources: T[], width: number, out: T, chunkOf: Uint32Array, rowOf: Uint32Array): void {
  const length = rowOf.length;
  if (width === 1) {
    for (let i = 0; i < length; i++) out[i] = sources[chunkOf[i]!]![rowOf[i]!]!;
  } else if (width === 2) {
    for (let i = 0; i < length; i++) {
      const source = sources[chunkOf[i]!]!;
      const from = rowOf[i]! * 2;
      out[i * 2] = source[from]!;
      out[i * 2 + 1] = source[from + 1]!;
    }
  } else {
    for (let i = 0; i < length; i++) {
      const source = sources[chunkOf[i]!]!;
      const from = rowOf[i]! * width;
      for (let k = 0; k < width; k++) out[i * width + k] = source[from + k]!;
    }
  }
}

/** Offsets are Int32Array, or BigInt64Array for the Large variants (rare: read through Number). */
function gatherVariable(chunks: readonly Data[], picks: Picks): { offsets: Int32Array | BigInt64Array; values: Uint8Array } {
  if (chunks[0]!.valueOffsets instanceof BigInt64Array) return gatherLargeVariable(chunks, picks);
  const { chunkOf, rowOf } = picks;
  const length = rowOf.length;
  const sourceOffsets = chunks.map((c) => c.valueOffsets as Int32Array);
  const sourceValues = chunks.map((c) => c.values as Uint8Array);
  let total = 0;
  for (let i = 0; i < length; i++) {
    const offsets = sourceOffsets[chunkOf[i]!]!;
    const row = rowOf[i]!;
    total += offsets[row + 1]! - offsets[row]!;
  }
  const values = new Uint8Array(total);
  const offsets = new Int32Array(length + 1);
  let position = 0;
  for (let i = 0; i < length; i++) {
    const chunk = chunkOf[i]!;
    const from = sourceOffsets[chunk]!;
    const row = rowOf[i]!;
    const start = from[row]!;
    const end = from[row + 1]!;
    const source = sourceValues[chunk]!;
    // Short values: a loop beats a subarray and a set.
    if (end - start <= 32) for (let k = start; k < end; k++) values[position++] = source[k]!;
    else {
      values.set(source.subarray(start, end), position);
      position += end - start;
    }
    offsets[i + 1] = position;
  }
  return { offsets, values };
}

function gatherLargeVariable(chunks: readonly Data[], { chunkOf, rowOf }: Picks): { offsets: BigInt64Array; values: Uint8Array } {
  const length = rowOf.length;
  const starts = new Float64Array(length);
  const ends = new Float64Array(length);
  let total = 0;
  for (let i = 0; i < length; i++) {
    const offsets = chunks[chunkOf[i]!]!.valueOffsets as BigInt64Array;
    const row = rowOf[i]!;
    starts[i] = Number(offsets[row]!);
    ends[i] = Number(offsets[row + 1]!);
    total += ends[i]! - starts[i]!;
  }
  const values = new Uint8Array(total);
  const offsets = new BigInt64Array(length + 1);
  let position = 0;
  for (let i = 0; i < length; i++) {
    const source = chunks[chunkOf[i]!]!.values as Uint8Array;
    values.set(source.subarray(starts[i], ends[i]), position);
    position += ends[i]! - starts[i]!;
    offsets[i + 1] = BigInt(position);
  }
  return { offsets, values };
}

function gatherListOffsets(chunks: readonly Data[], { chunkOf, rowOf }: Picks): { offsets: Int32Array; childPicks: Picks } {
  const length = rowOf.length;
  const offsets = new Int32Array(length + 1);
  for (let i = 0; i < length; i++) {
    const source = chunks[chunkOf[i]!]!.valueOffsets as Int32Array;
    offsets[i + 1] = offsets[i]! + source[rowOf[i]! + 1]! - source[rowOf[i]!]!;
  }
  const childChunkOf = new Uint32Array(offsets[length]!);
  const childRowOf = new Uint32Array(offsets[length]!);
  for (let i = 0; i < length; i++) {
    const source = chunks[chunkOf[i]!]!.valueOffsets as Int32Array;
    const start = source[rowOf[i]!]!;
    for (let k = 0, end = offsets[i + 1]! - offsets[i]!; k < end; k++) {
      childChunkOf[offsets[i]! + k] = chunkOf[i]!;
      childRowOf[offsets[i]! + k] = start + k;
    }
  }
  return { offsets, childPicks: { chunkOf: childChunkOf, rowOf: childRowOf } };
}

/** Chunks may carry different dictionaries: the output's dictionary is their concatenation. */
function takeDictionary(chunks: readonly Data[], picks: Picks, nullBitmap: Uint8Array | undefined, nullCount: number): Data {
  const type = chunks[0]!.type;
  const dictionaries = chunks.map((c) => c.dictionary as Vector);
  const shared = dictionaries.every((d) => d === dictionaries[0]);
  const base = new Int32Array(chunks.length);
  if (!shared) for (let c = 1; c < chunks.length; c++) base[c] = base[c - 1]! + dictionaries[c - 1]!.length;
  const length = picks.rowOf.length;
  const indices = new (chunks[0]!.values.constructor as TypedArrayConstructor)(length);
  for (let i = 0; i < length; i++) {
    const chunk = picks.chunkOf[i]!;
    const value = Number(chunks[chunk]!.values[picks.rowOf[i]!]) + base[chunk]!;
    indices[i] = indices instanceof BigInt64Array ? BigInt(value) : value;
  }
  const dictionary = shared ? dictionaries[0]! : dictionaries.slice(1).reduce((all, d) => all.concat(d), dictionaries[0]!);
  return makeData({ type, length, nullCount, nullBitmap, data: indices, dictionary } as never);
}

function takeWithBuilder(chunks: readonly Data[], { chunkOf, rowOf }: Picks): Data {
  const vectors = chunks.map((c) => makeVector(c));
  const builder = makeBuilder({ type: chunks[0]!.type, nullValues: [null, undefined] });
  for (let i = 0; i < rowOf.length; i++) builder.append(vectors[chunkOf[i]!]!.get(rowOf[i]!));
  return builder.finish().flush();
}
