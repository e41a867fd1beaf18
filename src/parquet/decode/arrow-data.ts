/**
 * A decoded column chunk's buffers (column.ts) as Arrow JS data of the column's Arrow type. Kept
 * apart from the decoders so that a decoding worker, which returns buffers only, never loads Arrow.
 */
import { type Data, type DataType, makeData, Type } from "apache-arrow";
import type { DecodedColumn } from "./column.js";

type Typed = new (source: ArrayBufferLike | ArrayLike<number>, offset?: number, length?: number) => ArrayLike<number>;

export function toArrowData(type: DataType, column: DecodedColumn): Data {
  const { rows: length, nullCount, nullBitmap } = column;
  const validity = nullCount > 0 ? { nullCount, nullBitmap } : { nullCount: 0 };
  if (column.words) {
    const { buffer, byteOffset } = column.words;
    const ArrayType = (type as unknown as { ArrayType: Typed }).ArrayType;
    // 8- and 16-bit integers are stored as INT32: narrowed here.
    const narrow = type.typeId === Type.Int && (type as unknown as { bitWidth: number }).bitWidth < 32;
    const data = narrow ? new ArrayType(new Int32Array(buffer, byteOffset, length)) : new ArrayType(buffer, byteOffset, length);
    return makeData({ type, length, data, ...validity } as never);
  }
  if (column.offsets) return makeData({ type, length, valueOffsets: column.offsets, data: column.data, ...validity } as never);
  return makeData({ type, length, data: column.bits, ...validity } as never);
}
