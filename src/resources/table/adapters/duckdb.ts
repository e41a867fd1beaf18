/**
 * @duckdb/node-api ↔ Arrow. node-api has no Arrow bridge, so a DuckDB result is read chunk by chunk
 * (2,048 rows) through its typed values, and a table is handed to DuckDB as a temporary Parquet
 * file that `read_parquet` loads with every type intact.
 */
import { randomBytes } from "node:crypto";
import { rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  Binary,
  Bool,
  type DataType,
  Decimal,
  Field,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  List,
  makeBuilder,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  type Table,
  TimestampMicrosecond,
  TimestampMillisecond,
  TimestampNanosecond,
  TimestampSecond,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
  Utf8,
  DateDay,
  Type,
} from "apache-arrow";
import { StowageError } from "../../../errors.js";
import { loadOptional } from "./optional.js";

interface DuckType {
  typeId: number;
  toString(): string;
  width?: number;
  scale?: number;
  valueType?: DuckType;
  entryNames?: string[];
  entryTypes?: DuckType[];
}
interface DuckChunk {
  rowCount: number;
  getColumns(): unknown[][];
}
interface DuckResult {
  columnNames(): string[];
  columnTypes(): DuckType[];
  fetchChunk(): Promise<DuckChunk | null>;
}

export function isDuckDBResult(value: unknown): value is DuckResult {
  const result = value as DuckResult | null;
  return typeof result?.fetchChunk === "function" && typeof result.columnNames === "function" && typeof result.columnTypes === "function";
}

/** DuckDB type ids (DuckDBTypeId) → Arrow types; values are converted per type below. */
function arrowType(type: DuckType, column: string): DataType {
  switch (type.typeId) {
    case 1:
      return new Bool();
    case 2:
      return new Int8();
    case 3:
      return new Int16();
    case 4:
      return new Int32();
    case 5:
      return new Int64();
    case 6:
      return new Uint8();
    case 7:
      return new Uint16();
    case 8:
      return new Uint32();
    case 9:
      return new Uint64();
    case 10:
      return new Float32();
    case 11:
      return new Float64();
    case 12:
      return new TimestampMicrosecond();
    case 13:
      return new DateDay();
    case 17:
      return new Utf8();
    case 18:
      return new Binary();
    case 19:
      return new Decimal(type.scale ?? 0, type.width ?? 18, 128);
    case 20:
      return new TimestampSecond();
    case 21:
      return new TimestampMillisecond();
    case 22:
      return new TimestampNanosecond();
    case 23:
      return new Utf8();
    case 24:
      return new List(new Field("item", arrowType(type.valueType!, `${column}[]`), true));
    case 25:
      return new Struct(type.entryNames!.map((name, i) => new Field(name, arrowType(type.entryTypes![i]!, `${column}.${name}`), true)));
    case 31:
      return new TimestampMicrosecond("UTC");
    default:
      throw new StowageError({
        code: "InvalidInput",
        operation: "write",
        message: `DuckDB column "${column}" has type ${type.toString()}, which Stowage cannot convert yet; CAST it in the query`,
      });
  }
}

/** A DuckDB value → what an Arrow builder of `type` accepts (timestamps handled by the caller). */
function builderValue(value: unknown, type: DataType): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value !== "object") return value;
  const v = value as Record<string, unknown>;
  if (type instanceof Decimal) return decimalWords(v.value as bigint);
  if (type instanceof DateDay) return (v.days as number) * 86_400_000;
  if (type instanceof Binary) return v.bytes;
  if (type instanceof List) return (v.items as unknown[]).map((item) => builderValue(item, type.children[0]!.type));
  if (type instanceof Struct) {
    const entries = v.entries as Record<string, unknown>;
    return Object.fromEntries(type.children.map((f) => [f.name, builderValue(entries[f.name], f.type)]));
  }
  if ("micros" in v) return Number(v.micros) / 1000;
  if ("millis" in v) return Number(v.millis);
  if ("seconds" in v) return Number(v.seconds) * 1000;
  if ("nanos" in v) return Number(v.nanos) / 1e6;
  return String(value);
}

/** A 128-bit two's complement integer as four little-endian 32-bit words. */
function decimalWords(value: bigint): Uint32Array {
  const words = new Uint32Array(4);
  let v = BigInt.asUintN(128, value);
  for (let i = 0; i < 4; i++, v >>= 32n) words[i] = Number(v & 0xffffffffn);
  return words;
}

/** Timestamps at their native resolution (a builder would round through milliseconds). */
function timestampData(type: DataType, values: unknown[]): ReturnType<typeof makeData> {
  const data = new BigInt64Array(values.length);
  const bitmap = new Uint8Array(((values.length + 63) >> 6) << 3);
  let nulls = 0;
  values.forEach((value, i) => {
    if (value === null || value === undefined) return void nulls++;
    const v = value as Record<string, bigint>;
    data[i] = v.micros ?? v.millis ?? v.seconds ?? v.nanos ?? 0n;
    bitmap[i >> 3]! |= 1 << (i & 7);
  });
  return makeData({ type, length: values.length, nullCount: nulls, nullBitmap: nulls ? bitmap : undefined, data } as never);
}

export async function* batchesFromDuckDB(result: DuckResult): AsyncGenerator<RecordBatch> {
  const names = result.columnNames();
  const types = result.columnTypes().map((t, i) => arrowType(t, names[i]!));
  const schema = new Schema(names.map((name, i) => new Field(name, types[i]!, true)));
  for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
    const columns = chunk.getColumns();
    const children = columns.map((values, i) => {
      const type = types[i]!;
      if (type.typeId === Type.Timestamp) return timestampData(type, values);
      const builder = makeBuilder({ type, nullValues: [null, undefined] });
      for (const value of values) builder.append(builderValue(value, type));
      return builder.finish().flush();
    });
    yield new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: chunk.rowCount, nullCount: 0, children }));
  }
}

interface DuckModule {
  DuckDBInstance: { create(path?: string): Promise<{ connect(): Promise<DuckConnection> }> };
}
interface DuckConnection {
  runAndReadAll(sql: string): Promise<unknown>;
}

/**
 * An Arrow table loaded into DuckDB: returns the materialised result of
 * `SELECT * FROM read_parquet(<temp file>)` on `connection` (default: a new in-memory database).
 */
export async function toDuckDB(table: Table, writeParquet: (table: Table) => Promise<Uint8Array>, connection?: DuckConnection): Promise<unknown> {
  const duckdb = await loadOptional<DuckModule>("@duckdb/node-api", "@duckdb/node-api", "the duckdb format");
  const connect = connection ?? (await (await duckdb.DuckDBInstance.create(":memory:")).connect());
  const path = join(tmpdir(), `stowage-${randomBytes(8).toString("hex")}.parquet`);
  await writeFile(path, await writeParquet(table));
  try {
    return await connect.runAndReadAll(`SELECT * FROM read_parquet('${path.replace(/'/g, "''")}')`);
  } finally {
    await rm(path, { force: true });
  }
}
