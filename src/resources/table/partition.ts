/**
 * Hive partitioning: `col=value/` directory names, the values they hold, and the constant columns
 * that put those values back into the batches read from the files below them.
 */
import { type DataType, type Data, type Field, makeBuilder, makeData, type RecordBatch, Type, vectorFromArray } from "apache-arrow";
import { StowageError } from "../../errors.js";

/** Hive's name for a null partition value. */
export const NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__";

export type PartitionValues = Record<string, string | null>;

/** Partition columns must be strings, integers, booleans or dates: values a directory name can hold. */
export function checkPartitionType(field: Field): void {
  const type = field.type as DataType;
  const base = type.typeId === Type.Dictionary ? (type as unknown as { valueType: DataType }).valueType : type;
  if ([Type.Utf8, Type.LargeUtf8, Type.Int, Type.Bool, Type.Date].includes(base.typeId)) return;
  throw new StowageError({
    code: "InvalidInput",
    operation: "write",
    message: `partition column "${field.name}" has type ${type}; partition by a string, integer, boolean or date column`,
  });
}

/** A value as it appears in a directory name (percent-escaped like Hive). */
export function encodeValue(value: unknown, type: DataType): string {
  if (value === null || value === undefined) return NULL_PARTITION;
  if (type.typeId === Type.Date) return new Date(value as number).toISOString().slice(0, 10);
  return encodeURIComponent(String(value)).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function decodeValue(text: string): string | null {
  if (text === NULL_PARTITION) return null;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** `a=1/b=x` for the given columns and values. */
export function partitionDir(columns: readonly string[], values: readonly string[]): string {
  return columns.map((c, i) => `${c}=${values[i]}`).join("/");
}

/** The `k=v` segments of a relative file path, decoded. */
export function parsePartitionPath(relative: string): PartitionValues {
  const values: PartitionValues = {};
  for (const segment of relative.split("/").slice(0, -1)) {
    const eq = segment.indexOf("=");
    if (eq > 0) values[segment.slice(0, eq)] = decodeValue(segment.slice(eq + 1));
  }
  return values;
}

/** A partition value (from a path) as the JS value of its column type, for filters and columns. */
export function typedValue(text: string | null, type: DataType): unknown {
  if (text === null) return null;
  const base = type.typeId === Type.Dictionary ? (type as unknown as { valueType: DataType }).valueType : type;
  switch (base.typeId) {
    case Type.Int:
      return (base as unknown as { bitWidth: number }).bitWidth === 64 ? BigInt(text) : Number(text);
    case Type.Bool:
      return text === "true";
    case Type.Date:
      return Date.parse(`${text}T00:00:00Z`);
    default:
      return text;
  }
}

/** A column of `length` copies of one value, of the given type. */
export function constantData(type: DataType, value: unknown, length: number): Data {
  if (value === null || value === undefined)
    return makeData({ type: type as never, length, nullCount: length, nullBitmap: new Uint8Array(((length + 63) >> 6) << 3) } as never);
  if (type.typeId === Type.Dictionary) {
    const dictType = type as unknown as { valueType: DataType; indices: DataType };
    const dictionary = vectorFromArray([value], dictType.valueType as never);
    const indices = indexArray(dictType.indices as unknown as { bitWidth: number; isSigned: boolean }, length);
    return makeData({ type, length, nullCount: 0, data: indices, dictionary } as never);
  }
  if (type.typeId === Type.Utf8) {
    const bytes = Buffer.from(String(value), "utf8");
    const values = new Uint8Array(bytes.length * length);
    const offsets = new Int32Array(length + 1);
    for (let i = 0; i < length; i++) {
      values.set(bytes, i * bytes.length);
      offsets[i + 1] = (i + 1) * bytes.length;
    }
    return makeData({ type, length, nullCount: 0, valueOffsets: offsets, data: values } as never);
  }
  const builder = makeBuilder({ type, nullValues: [null, undefined] });
  for (let i = 0; i < length; i++) builder.append(value);
  return builder.finish().flush();
}

/** The partition key of every row of a batch, as encoded directory values. */
export function rowKeys(batch: RecordBatch, columns: readonly string[]): { keys: string[]; values: Map<string, string[]> } {
  const vectors = columns.map((c) => batch.getChild(c)!);
  const types = columns.map((c) => batch.schema.fields.find((f) => f.name === c)!.type as DataType);
  const keys = new Array<string>(batch.numRows);
  const values = new Map<string, string[]>();
  const memo = vectors.map(() => new Map<unknown, string>());
  for (let i = 0; i < batch.numRows; i++) {
    const parts = vectors.map((v, k) => {
      const raw: unknown = v.get(i);
      let text = memo[k]!.get(raw);
      if (text === undefined) memo[k]!.set(raw, (text = encodeValue(raw, types[k]!)));
      return text;
    });
    const key = parts.join("/");
    keys[i] = key;
    if (!values.has(key)) values.set(key, parts);
  }
  return { keys, values };
}

function indexArray({ bitWidth, isSigned }: { bitWidth: number; isSigned: boolean }, length: number) {
  switch (bitWidth) {
    case 8:
      return isSigned ? new Int8Array(length) : new Uint8Array(length);
    case 16:
      return isSigned ? new Int16Array(length) : new Uint16Array(length);
    case 64:
      return isSigned ? new BigInt64Array(length) : new BigUint64Array(length);
    default:
      return isSigned ? new Int32Array(length) : new Uint32Array(length);
  }
}
