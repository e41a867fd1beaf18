/**
 * A corpus of Parquet files written by real writers on this machine (DuckDB, parquet-wasm's arrow-rs
 * writer, Polars), plus what none of them writes, made here: a minimal page writer for legacy
 * layouts (a repeated field without LIST annotation, INT96 timestamps, decimals in byte arrays,
 * pages with CRCs) and footer patches of real files (dictionary offsets stored as 0, encryption
 * markers, unknown codec and encoding ids).
 *
 * Values are compared in one canonical form, exact for every type: integers as numbers (up to 32
 * bits) or bigints, decimals as "unscaled e-scale", timestamps and times in nanoseconds, dates in
 * days, bytes as hex; lists as arrays, structs as objects, maps as [key, value] pairs.
 */
import {
  type DuckDBConnection,
  DuckDBBlobValue,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBIntervalValue,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBTimeNSValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTimeValue,
  type DuckDBType,
  DuckDBTypeId,
  DuckDBUUIDValue,
  DuckDBArrayValue,
} from "@duckdb/node-api";
import { type Data, type DataType, makeVector, type Table, TimeUnit, Type } from "apache-arrow";
import { field, readStruct, setField, type ThriftStruct, type ThriftValue, WireType, writeStruct } from "../../src/parquet/thrift-compact.js";
import { pageCrc } from "../../src/parquet/checksums.js";

// ---------------------------------------------------------------------------------------------
// Canonical values

const hex = (bytes: Uint8Array) => `hex:${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")}`;
const UNIT_NS: Record<number, bigint> = {
  [TimeUnit.SECOND]: 1_000_000_000n,
  [TimeUnit.MILLISECOND]: 1_000_000n,
  [TimeUnit.MICROSECOND]: 1_000n,
  [TimeUnit.NANOSECOND]: 1n,
};

/** A DuckDB value in canonical form. */
export function duckValue(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value !== "object") return value;
  if (value instanceof DuckDBDecimalValue) return `${value.value}e-${value.scale}`;
  if (value instanceof DuckDBTimestampTZValue || value instanceof DuckDBTimestampValue) return `ts:${value.micros * 1000n}`;
  if (value instanceof DuckDBTimestampMillisecondsValue) return `ts:${value.millis * 1_000_000n}`;
  if (value instanceof DuckDBTimestampNanosecondsValue) return `ts:${value.nanos}`;
  if (value instanceof DuckDBTimestampSecondsValue) return `ts:${value.seconds * 1_000_000_000n}`;
  if (value instanceof DuckDBDateValue) return `date:${value.days}`;
  if (value instanceof DuckDBTimeValue) return `time:${value.micros * 1000n}`;
  if (value instanceof DuckDBTimeNSValue) return `time:${value.nanos}`;
  if (value instanceof DuckDBIntervalValue) {
    // As Parquet stores it, and pyarrow reads it: months, days, milliseconds, little-endian.
    const bytes = Buffer.alloc(12);
    bytes.writeInt32LE(value.months, 0);
    bytes.writeInt32LE(value.days, 4);
    bytes.writeUInt32LE(Number(value.micros / 1000n), 8);
    return hex(bytes);
  }
  if (value instanceof DuckDBUUIDValue) return `hex:${String(value).replaceAll("-", "")}`;
  if (value instanceof DuckDBBlobValue) return hex(value.bytes);
  if (value instanceof DuckDBListValue || value instanceof DuckDBArrayValue) return value.items.map(duckValue);
  if (value instanceof DuckDBStructValue) return Object.fromEntries(Object.entries(value.entries).map(([k, v]) => [k, duckValue(v)]));
  if (value instanceof DuckDBMapValue) return value.entries.map((e) => [duckValue(e.key), duckValue(e.value)]);
  return String(value);
}

function int128(words: Uint32Array): bigint {
  let n = 0n;
  for (let i = words.length - 1; i >= 0; i--) n = (n << 32n) | BigInt(words[i]!);
  const bits = BigInt(words.length * 32);
  return n >= 1n << (bits - 1n) ? n - (1n << bits) : n;
}

/** Row `i` of an Arrow column's data in canonical form. */
export function arrowValue(data: Data, i: number): unknown {
  if (!data.getValid(i)) return null;
  const type: DataType = data.type;
  const values = data.values as ArrayLike<number | bigint> & { subarray(a: number, b: number): unknown };
  switch (type.typeId) {
    case Type.Int:
    case Type.Float:
      return type.typeId === Type.Float && (type as unknown as { precision: number }).precision === 0
        ? makeVector(data).get(i) // float16, as a number
        : values[i];
    case Type.Decimal: {
      const { scale, bitWidth } = type as unknown as { scale: number; bitWidth: number };
      const stride = bitWidth / 32;
      return `${int128(values.subarray(i * stride, (i + 1) * stride) as Uint32Array)}e-${scale}`;
    }
    case Type.Timestamp:
      return `ts:${BigInt(values[i]!) * UNIT_NS[(type as unknown as { unit: number }).unit]!}`;
    case Type.Date:
      return (type as unknown as { unit: number }).unit === 0 ? `date:${values[i]}` : `date:${Number(values[i]) / 86_400_000}`;
    case Type.Time:
      return `time:${BigInt(values[i]!) * UNIT_NS[(type as unknown as { unit: number }).unit]!}`;
    case Type.Interval: {
      const unit = (type as unknown as { unit: number }).unit;
      const words = values as unknown as Int32Array;
      if (unit === 2) {
        const nanos = new BigInt64Array(words.buffer, words.byteOffset + i * 16 + 8, 1)[0]!;
        return `iv:${words[i * 4]}/${words[i * 4 + 1]}/${nanos}`;
      }
      if (unit === 1) return `iv:0/${words[i * 2]}/${BigInt(words[i * 2 + 1]!) * 1_000_000n}`;
      return `iv:${words[i]}/0/0`;
    }
    case Type.FixedSizeBinary:
    case Type.Binary:
    case Type.LargeBinary:
      return hex(makeVector(data).get(i) as Uint8Array);
    case Type.List:
    case Type.LargeList:
    case Type.FixedSizeList: {
      const child = data.children[0]!;
      const [start, end] =
        type.typeId === Type.FixedSizeList
          ? [i * (type as unknown as { listSize: number }).listSize, (i + 1) * (type as unknown as { listSize: number }).listSize]
          : [Number(data.valueOffsets[i]), Number(data.valueOffsets[i + 1])];
      return Array.from({ length: end - start }, (_, k) => arrowValue(child, start + k));
    }
    case Type.Struct:
      return Object.fromEntries((type.children ?? []).map((f, k) => [f.name, arrowValue(data.children[k]!, i)]));
    case Type.Map: {
      const entries = data.children[0]!;
      const [start, end] = [Number(data.valueOffsets[i]), Number(data.valueOffsets[i + 1])];
      return Array.from({ length: end - start }, (_, k) => [arrowValue(entries.children[0]!, start + k), arrowValue(entries.children[1]!, start + k)]);
    }
    default:
      return makeVector(data).get(i);
  }
}

/** A table's rows in canonical form. */
export function arrowRows(table: Table): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const batch of table.batches) {
    for (let i = 0; i < batch.numRows; i++) {
      rows.push(Object.fromEntries(batch.schema.fields.map((f, k) => [f.name, arrowValue(batch.data.children[k]!, i)])));
    }
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Types, named alike on both sides

const UNITS = ["s", "ms", "us", "ns"];
const utc = (tz: string | null | undefined) => (tz ? (["+00:00", "UTC", "Etc/UTC", "Z"].includes(tz) ? "UTC" : tz) : "");

/** An Arrow type, named as `duckType` names DuckDB's. */
export function arrowType(type: DataType): string {
  const t = type as unknown as Record<string, unknown>;
  switch (type.typeId) {
    case Type.Int:
      return `${t.isSigned ? "int" : "uint"}${t.bitWidth as number}`;
    case Type.Float:
      return ["float16", "float32", "float64"][t.precision as number]!;
    case Type.Decimal:
      return `decimal(${t.precision as number},${t.scale as number})`;
    case Type.Bool:
      return "bool";
    case Type.Utf8:
    case Type.LargeUtf8:
      return "utf8";
    case Type.Binary:
    case Type.LargeBinary:
      return "binary";
    case Type.FixedSizeBinary:
      return `fixed(${t.byteWidth as number})`;
    case Type.Date:
      return t.unit === 0 ? "date32" : "date64";
    case Type.Timestamp:
      return `timestamp(${UNITS[t.unit as number]},${utc(t.timezone as string | null)})`;
    case Type.Time:
      return `time(${UNITS[t.unit as number]})`;
    case Type.Interval:
      return `interval(${["ym", "dt", "mdn"][t.unit as number]})`;
    case Type.List:
    case Type.LargeList:
      return `list<${arrowType(type.children[0]!.type)}>`;
    case Type.Struct:
      return `struct<${type.children.map((f) => `${f.name}:${arrowType(f.type)}`).join(",")}>`;
    case Type.Map: {
      const entries = type.children[0]!.type.children;
      return `map<${arrowType(entries[0]!.type)},${arrowType(entries[1]!.type)}>`;
    }
    case Type.Null:
      return "null";
    default:
      return String(type);
  }
}

/** The Arrow type a DuckDB type should come out as (pyarrow's reading of the same Parquet column). */
export function duckType(type: DuckDBType): string {
  const t = type as unknown as Record<string, unknown>;
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return "bool";
    case DuckDBTypeId.TINYINT:
      return "int8";
    case DuckDBTypeId.SMALLINT:
      return "int16";
    case DuckDBTypeId.INTEGER:
      return "int32";
    case DuckDBTypeId.BIGINT:
      return "int64";
    case DuckDBTypeId.UTINYINT:
      return "uint8";
    case DuckDBTypeId.USMALLINT:
      return "uint16";
    case DuckDBTypeId.UINTEGER:
      return "uint32";
    case DuckDBTypeId.UBIGINT:
      return "uint64";
    case DuckDBTypeId.FLOAT:
      return "float32";
    case DuckDBTypeId.DOUBLE:
      return "float64";
    case DuckDBTypeId.DECIMAL:
      return `decimal(${t.width as number},${t.scale as number})`;
    case DuckDBTypeId.VARCHAR:
      return "utf8";
    case DuckDBTypeId.BLOB:
      return "binary";
    case DuckDBTypeId.UUID:
      return "fixed(16)";
    case DuckDBTypeId.DATE:
      return "date32";
    case DuckDBTypeId.TIMESTAMP_S:
      return "timestamp(s,)";
    case DuckDBTypeId.TIMESTAMP_MS:
      return "timestamp(ms,)";
    case DuckDBTypeId.TIMESTAMP:
      return "timestamp(us,)";
    case DuckDBTypeId.TIMESTAMP_NS:
      return "timestamp(ns,)";
    case DuckDBTypeId.TIMESTAMP_TZ:
      return "timestamp(us,UTC)";
    case DuckDBTypeId.TIME:
      return "time(us)";
    case DuckDBTypeId.TIME_NS:
      return "time(ns)";
    case DuckDBTypeId.INTERVAL:
      return "fixed(12)";
    case DuckDBTypeId.LIST:
      return `list<${duckType(t.valueType as DuckDBType)}>`;
    case DuckDBTypeId.STRUCT:
      return `struct<${(t.entryNames as string[]).map((n, k) => `${n}:${duckType((t.entryTypes as DuckDBType[])[k]!)}`).join(",")}>`;
    case DuckDBTypeId.MAP:
      return `map<${duckType(t.keyType as DuckDBType)},${duckType(t.valueType as DuckDBType)}>`;
    case DuckDBTypeId.SQLNULL:
      return "null";
    default:
      return type.toString();
  }
}

/** DuckDB's own reading of a file: types (as Arrow should have them) and canonical rows. */
export async function duckRead(
  connection: DuckDBConnection,
  path: string,
  exclude: readonly string[] = [],
): Promise<{ types: Record<string, string>; rows: Record<string, unknown>[] }> {
  const reader = await connection.runAndReadAll(`SELECT * ${exclude.length > 0 ? `EXCLUDE (${exclude.join(", ")})` : ""} FROM read_parquet('${path}')`);
  const names = reader.columnNames();
  const types = Object.fromEntries(reader.columnTypes().map((t, k) => [names[k]!, duckType(t)]));
  const rows = reader.getRows().map((row) => Object.fromEntries(row.map((v, k) => [names[k]!, duckValue(v)])));
  return { types, rows };
}

// ---------------------------------------------------------------------------------------------
// Thrift structs by hand

type Field = [id: number, type: WireType, value: ThriftValue];
export const struct = (...fields: (Field | undefined)[]): ThriftStruct => ({
  fields: fields.filter((f): f is Field => f !== undefined).map(([id, type, value]) => ({ id, type, value })),
});
const i32 = (id: number, value: number): Field => [id, WireType.I32, value];
const i64 = (id: number, value: number | bigint): Field => [id, WireType.I64, BigInt(value)];
const bin = (id: number, value: string | Uint8Array): Field => [id, WireType.Binary, typeof value === "string" ? new TextEncoder().encode(value) : value];
const list = (id: number, elementType: WireType, items: ThriftValue[]): Field => [id, WireType.List, { elementType, items }];
const sub = (id: number, value: ThriftStruct): Field => [id, WireType.Struct, value];

export const Physical = { BOOLEAN: 0, INT32: 1, INT64: 2, INT96: 3, FLOAT: 4, DOUBLE: 5, BYTE_ARRAY: 6, FIXED_LEN_BYTE_ARRAY: 7 } as const;
export const Repetition = { REQUIRED: 0, OPTIONAL: 1, REPEATED: 2 } as const;

/** A schema element (leaf when `type` is given, else a group of `children`). */
export function element(
  name: string,
  repetition: number,
  options: { type?: number; typeLength?: number; children?: number; convertedType?: number; scale?: number; precision?: number; logical?: ThriftStruct },
): ThriftStruct {
  return struct(
    options.type === undefined ? undefined : i32(1, options.type),
    options.typeLength === undefined ? undefined : i32(2, options.typeLength),
    i32(3, repetition),
    bin(4, name),
    options.children === undefined ? undefined : i32(5, options.children),
    options.convertedType === undefined ? undefined : i32(6, options.convertedType),
    options.scale === undefined ? undefined : i32(7, options.scale),
    options.precision === undefined ? undefined : i32(8, options.precision),
    options.logical === undefined ? undefined : sub(10, options.logical),
  );
}

/** Levels in the RLE/bit-packed hybrid: one bit-packed run, preceded by its 4-byte length (data page v1). */
export function levels(values: readonly number[], bitWidth: number): Uint8Array {
  const groups = Math.ceil(values.length / 8);
  const packed = new Uint8Array(groups * bitWidth);
  values.forEach((v, i) => {
    for (let b = 0; b < bitWidth; b++) if ((v >> b) & 1) packed[(i * bitWidth + b) >> 3]! |= 1 << ((i * bitWidth + b) & 7);
  });
  const header = uleb((groups << 1) | 1);
  const body = Buffer.concat([header, packed]);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(body.length);
  return Buffer.concat([length, body]);
}

function uleb(n: number): Uint8Array {
  const out: number[] = [];
  do {
    out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  return Uint8Array.from(out);
}

export interface HandColumn {
  /** Schema elements of the column, depth first (its leaf last). */
  schema: ThriftStruct[];
  path: string[];
  physical: number;
  /** Data pages (version 1, PLAIN, uncompressed): values counted with nulls, body = levels then values. */
  pages: { values: number; body: Uint8Array; encoding?: number }[];
}

/**
 * A Parquet file of one row group, uncompressed PLAIN data pages v1, as an old writer lays it out.
 * `crc`: store each page's CRC-32; `dictionaryOffsetZero`: store 0 as every chunk's dictionary page offset.
 */
export function handFile(
  rows: number,
  columns: HandColumn[],
  options: {
    crc?: boolean;
    dictionaryOffsetZero?: boolean;
    createdBy?: string;
    topLevel?: number;
    /** The chunks' codec id and how a page is compressed with it. */
    codec?: { id: number; compress: (page: Uint8Array) => Uint8Array };
  } = {},
): Uint8Array {
  const parts: Uint8Array[] = [Buffer.from("PAR1")];
  let position = 4;
  const chunks: ThriftStruct[] = [];
  for (const column of columns) {
    const start = position;
    let numValues = 0;
    let uncompressed = 0;
    for (const page of column.pages) {
      const stored = options.codec ? options.codec.compress(page.body) : page.body;
      const header = struct(
        i32(1, 0),
        i32(2, page.body.length),
        i32(3, stored.length),
        options.crc ? i32(4, pageCrc(stored)) : undefined,
        sub(5, struct(i32(1, page.values), i32(2, page.encoding ?? 0), i32(3, 3), i32(4, 3))),
      );
      const bytes = writeStruct(header);
      parts.push(bytes, stored);
      position += bytes.length + stored.length;
      uncompressed += bytes.length + page.body.length;
      numValues += page.values;
    }
    const size = position - start;
    const meta = struct(
      i32(1, column.physical),
      list(2, WireType.I32, [0, 3]),
      list(
        3,
        WireType.Binary,
        column.path.map((p) => new TextEncoder().encode(p)),
      ),
      i32(4, options.codec?.id ?? 0),
      i64(5, numValues),
      i64(6, uncompressed),
      i64(7, size),
      i64(9, start),
      options.dictionaryOffsetZero ? i64(11, 0) : undefined,
    );
    chunks.push(struct(i64(2, start), sub(3, meta)));
  }
  const leaves = columns.flatMap((c) => c.schema);
  const topLevel = options.topLevel ?? columns.length;
  const footer = struct(
    i32(1, 1),
    list(2, WireType.Struct, [struct(bin(4, "schema"), i32(5, topLevel)), ...leaves]),
    i64(3, rows),
    list(4, WireType.Struct, [struct(list(1, WireType.Struct, chunks), i64(2, position - 4), i64(3, rows))]),
    bin(6, options.createdBy ?? "stowage test hand writer"),
  );
  return withFooter(Buffer.concat(parts), footer);
}

/** `body` (magic and column chunks) closed by `footer`. */
function withFooter(body: Uint8Array, footer: ThriftStruct): Uint8Array {
  const metadata = writeStruct(footer);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(metadata.length);
  return Buffer.concat([body, metadata, length, Buffer.from("PAR1")]);
}

/** The footer of a Parquet file, parsed, and where it starts. */
export function footerOf(file: Uint8Array): { footer: ThriftStruct; start: number } {
  const length = Buffer.from(file.buffer, file.byteOffset, file.byteLength).readUInt32LE(file.length - 8);
  const start = file.length - 8 - length;
  return { footer: readStruct(file.subarray(start, file.length - 8)), start };
}

/** The same file with its footer edited by `edit`. */
export function patchFooter(file: Uint8Array, edit: (footer: ThriftStruct) => void): Uint8Array {
  const { footer, start } = footerOf(file);
  edit(footer);
  return withFooter(file.subarray(0, start), footer);
}

/** Every column chunk's metadata in a footer. */
export function chunkMetas(footer: ThriftStruct): { chunk: ThriftStruct; meta: ThriftStruct }[] {
  const items = (s: ThriftStruct | undefined, id: number): ThriftStruct[] => (s && (field(s, id)?.value as { items: ThriftStruct[] } | undefined)?.items) ?? [];
  return items(footer, 4)
    .flatMap((group) => items(group, 1))
    .map((chunk) => ({ chunk, meta: field(chunk, 3)!.value as ThriftStruct }));
}

export { field, setField, WireType };

// ---------------------------------------------------------------------------------------------
// Hand-made columns

const int32s = (values: readonly number[]) => {
  const bytes = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => bytes.writeInt32LE(v, i * 4));
  return bytes;
};

/** A required INT64 id column 0..rows-1. */
export function idColumn(rows: number): HandColumn {
  const bytes = Buffer.alloc(rows * 8);
  for (let i = 0; i < rows; i++) bytes.writeBigInt64LE(BigInt(i), i * 8);
  return {
    schema: [element("id", Repetition.REQUIRED, { type: Physical.INT64 })],
    path: ["id"],
    physical: Physical.INT64,
    pages: [{ values: rows, body: bytes }],
  };
}

/** `repeated int32 name` at the top level, as old Hive and parquet-mr writers stored lists: one page per `pageRows` rows. */
export function legacyRepeatedColumn(name: string, lists: readonly (readonly number[])[], pageRows = lists.length): HandColumn {
  const pages: HandColumn["pages"] = [];
  for (let at = 0; at < lists.length; at += pageRows) {
    const rep: number[] = [];
    const def: number[] = [];
    const values: number[] = [];
    for (const items of lists.slice(at, at + pageRows)) {
      if (items.length === 0) {
        rep.push(0);
        def.push(0);
      }
      items.forEach((v, k) => {
        rep.push(k === 0 ? 0 : 1);
        def.push(1);
        values.push(v);
      });
    }
    pages.push({ values: rep.length, body: Buffer.concat([levels(rep, 1), levels(def, 1), int32s(values)]) });
  }
  return { schema: [element(name, Repetition.REPEATED, { type: Physical.INT32 })], path: [name], physical: Physical.INT32, pages };
}

/** Nanoseconds since the epoch as Spark's INT96 (nanoseconds of the day, then the Julian day). */
export function int96(nanos: bigint): Uint8Array {
  const day = 86_400_000_000_000n;
  const days = nanos >= 0n ? nanos / day : -((-nanos + day - 1n) / day);
  const bytes = Buffer.alloc(12);
  bytes.writeBigInt64LE(nanos - days * day, 0);
  bytes.writeInt32LE(Number(days) + 2_440_588, 8);
  return bytes;
}

/** An optional INT96 column, as Spark writes timestamps (no annotation). */
export function int96Column(name: string, values: readonly (bigint | null)[]): HandColumn {
  const present = values.filter((v): v is bigint => v !== null);
  const body = Buffer.concat([
    levels(
      values.map((v) => (v === null ? 0 : 1)),
      1,
    ),
    ...present.map(int96),
  ]);
  return {
    schema: [element(name, Repetition.OPTIONAL, { type: Physical.INT96 })],
    path: [name],
    physical: Physical.INT96,
    pages: [{ values: values.length, body }],
  };
}

/** Big-endian two's complement, as Parquet stores decimals in byte arrays: minimal length. */
export function decimalBytes(unscaled: bigint): Uint8Array {
  const out: number[] = [];
  let n = unscaled;
  do {
    out.unshift(Number(n & 0xffn));
    n >>= 8n;
  } while (!(n === 0n && (out[0]! & 0x80) === 0) && !(n === -1n && (out[0]! & 0x80) !== 0));
  return Uint8Array.from(out);
}

/** An optional DECIMAL(precision, scale) stored as BYTE_ARRAY (as some Java writers do). */
export function byteArrayDecimalColumn(name: string, precision: number, scale: number, values: readonly (bigint | null)[]): HandColumn {
  const present = values.filter((v): v is bigint => v !== null).map(decimalBytes);
  const body = Buffer.concat([
    levels(
      values.map((v) => (v === null ? 0 : 1)),
      1,
    ),
    ...present.flatMap((b) => {
      const length = Buffer.alloc(4);
      length.writeUInt32LE(b.length);
      return [length, b];
    }),
  ]);
  return {
    schema: [element(name, Repetition.OPTIONAL, { type: Physical.BYTE_ARRAY, convertedType: 5, scale, precision })],
    path: [name],
    physical: Physical.BYTE_ARRAY,
    pages: [{ values: values.length, body }],
  };
}

/** A leaf column from its levels and present values (INT32), in one data page. */
export function leveledInt32Column(
  schema: ThriftStruct[],
  path: string[],
  maxRep: number,
  maxDef: number,
  rep: number[],
  def: number[],
  values: number[],
): HandColumn {
  const width = (max: number) => (max === 0 ? 0 : 32 - Math.clz32(max));
  const body = Buffer.concat([...(maxRep > 0 ? [levels(rep, width(maxRep))] : []), ...(maxDef > 0 ? [levels(def, width(maxDef))] : []), int32s(values)]);
  return { schema, path, physical: Physical.INT32, pages: [{ values: def.length, body }] };
}

/** An LZ4 block of literals only (valid LZ4, no matches): what a minimal compressor may emit. */
export function lz4LiteralBlock(bytes: Uint8Array): Uint8Array {
  const out: number[] = [];
  const length = bytes.length;
  out.push(Math.min(length, 15) << 4);
  if (length >= 15) {
    let rest = length - 15;
    for (; rest >= 255; rest -= 255) out.push(255);
    out.push(rest);
  }
  return Buffer.concat([Uint8Array.from(out), bytes]);
}

/** LZ4 as Hadoop frames it (Parquet's deprecated LZ4 codec): sizes big-endian, then the block. */
export function lz4Hadoop(bytes: Uint8Array): Uint8Array {
  const block = lz4LiteralBlock(bytes);
  const sizes = Buffer.alloc(8);
  sizes.writeUInt32BE(bytes.length, 0);
  sizes.writeUInt32BE(block.length, 4);
  return Buffer.concat([sizes, block]);
}

/** Required INT32 values with a logical type annotation given as a raw Thrift union member. */
export function annotatedInt32Column(name: string, values: readonly number[], logical: ThriftStruct): HandColumn {
  return {
    schema: [element(name, Repetition.REQUIRED, { type: Physical.INT32, logical })],
    path: [name],
    physical: Physical.INT32,
    pages: [{ values: values.length, body: int32s(values) }],
  };
}
