/**
 * Plain row objects → Arrow record batches. Types come from the values (or from a given schema),
 * never guessed from strings: numbers are Float64, bigints Int64, strings Utf8, booleans Bool,
 * Dates Timestamp(ms, UTC), Uint8Arrays Binary, arrays List, plain objects Struct. A value whose
 * type disagrees with its column is an `InvalidInput` naming the column and the row.
 */
import {
  Binary,
  Bool,
  type DataType,
  Field,
  Float64,
  Int64,
  List,
  makeBuilder,
  makeData,
  Null,
  RecordBatch,
  Schema,
  Struct,
  TimestampMillisecond,
  Type,
  Utf8,
} from "apache-arrow";
import { StowageError } from "../../errors.js";
import type { Row } from "./types.js";

/** Rows gathered per record batch. */
const ROWS_PER_BATCH = 65_536;

function invalid(message: string): StowageError {
  return new StowageError({ code: "InvalidInput", operation: "write", message });
}

function describe(value: unknown): string {
  if (value instanceof Date) return "Date";
  if (value instanceof Uint8Array) return "Uint8Array";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** The Arrow type of one JS value; Null for null/undefined. */
function typeOfValue(value: unknown, where: string): DataType {
  if (value === null || value === undefined) return new Null();
  switch (typeof value) {
    case "boolean":
      return new Bool();
    case "number":
      return new Float64();
    case "bigint":
      return new Int64();
    case "string":
      return new Utf8();
  }
  if (value instanceof Date) return new TimestampMillisecond("UTC");
  if (value instanceof Uint8Array) return new Binary();
  if (Array.isArray(value)) {
    const item = value.reduce<DataType>((type, v, i) => merge(type, typeOfValue(v, `${where}[${i}]`), `${where}[]`), new Null());
    return new List(new Field("item", item, true));
  }
  if (isPlainObject(value)) {
    return new Struct(Object.entries(value).map(([k, v]) => new Field(k, typeOfValue(v, `${where}.${k}`), true)));
  }
  throw invalid(`column "${where}" holds a ${describe(value)}, which cannot be stored in a table`);
}

/** Two inferred types of the same column; Null gives way to anything, other conflicts are errors. */
function merge(a: DataType, b: DataType, where: string): DataType {
  if (a.typeId === Type.Null) return b;
  if (b.typeId === Type.Null) return a;
  if (a.typeId !== b.typeId) throw invalid(`column "${where}" mixes ${a} and ${b} values`);
  if (a instanceof List && b instanceof List) {
    return new List(new Field("item", merge(a.children[0]!.type, b.children[0]!.type, `${where}[]`), true));
  }
  if (a instanceof Struct && b instanceof Struct) {
    const fields = new Map<string, DataType>(a.children.map((f) => [f.name, f.type]));
    for (const f of b.children) fields.set(f.name, fields.has(f.name) ? merge(fields.get(f.name)!, f.type, `${where}.${f.name}`) : f.type);
    return new Struct([...fields].map(([name, type]) => new Field(name, type, true)));
  }
  return a;
}

/** The schema of a sample of rows, columns in order of first appearance. */
export function inferSchema(rows: readonly Row[]): Schema {
  const columns = new Map<string, DataType>();
  rows.forEach((row, index) => {
    if (!isPlainObject(row)) throw invalid(`row ${index} is a ${describe(row)}, not a plain object`);
    for (const [name, value] of Object.entries(row)) {
      const type = typeOfValue(value, name);
      columns.set(name, columns.has(name) ? mergeAt(columns.get(name)!, type, name, index) : type);
    }
  });
  return new Schema([...columns].map(([name, type]) => new Field(name, type, true)));
}

function mergeAt(a: DataType, b: DataType, column: string, row: number): DataType {
  try {
    return merge(a, b, column);
  } catch (error) {
    throw invalid(`${(error as Error).message.replace(/^.*?: /, "")} (row ${row})`);
  }
}

/** Checks one value against its column's type, deeply, so a builder never stores a wrong value. */
function conforms(value: unknown, type: DataType): boolean {
  if (value === null || value === undefined) return true;
  switch (type.typeId) {
    case Type.Null:
      return false;
    case Type.Bool:
      return typeof value === "boolean";
    case Type.Int:
      return typeof value === "bigint" || (typeof value === "number" && Number.isInteger(value));
    case Type.Float:
      return typeof value === "number";
    case Type.Utf8:
    case Type.LargeUtf8:
      return typeof value === "string";
    case Type.Binary:
    case Type.LargeBinary:
      return value instanceof Uint8Array;
    case Type.Timestamp:
    case Type.Date:
      return value instanceof Date || typeof value === "number";
    case Type.List:
      return Array.isArray(value) && value.every((v) => conforms(v, type.children[0]!.type));
    case Type.Struct:
      return (
        isPlainObject(value) &&
        Object.keys(value).every((k) => type.children.some((f: Field) => f.name === k)) &&
        type.children.every((f: Field) => conforms(value[f.name], f.type))
      );
    default:
      return true;
  }
}

/** Int64 builders want bigints; a whole JS number is accepted for convenience. */
function prepare(value: unknown, type: DataType): unknown {
  if (typeof value === "number" && type.typeId === Type.Int && (type as unknown as { bitWidth: number }).bitWidth === 64) return BigInt(value);
  return value;
}

export function rowsToBatch(rows: readonly Row[], schema: Schema, firstRow: number): RecordBatch {
  const names = new Set(schema.fields.map((f) => f.name));
  const builders = schema.fields.map((f) => makeBuilder({ type: f.type, nullValues: [null, undefined] }));
  rows.forEach((row, i) => {
    if (!isPlainObject(row)) throw invalid(`row ${firstRow + i} is a ${describe(row)}, not a plain object`);
    for (const key of Object.keys(row)) {
      if (!names.has(key)) throw invalid(`column "${key}" first appears at row ${firstRow + i}, after the schema was fixed`);
    }
    schema.fields.forEach((field, k) => {
      const value = row[field.name];
      if (!conforms(value, field.type)) {
        throw invalid(`column "${field.name}" is ${field.type} but row ${firstRow + i} holds ${describe(value)} ${JSON.stringify(String(value)).slice(0, 40)}`);
      }
      builders[k]!.append(prepare(value, field.type));
    });
  });
  const children = builders.map((b) => b.finish().flush());
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: rows.length, nullCount: 0, children }));
}

/** Rows from any (async) iterable → batches; the schema is fixed by `schema` or by the first batch. */
export async function* batchesFromRows(rows: Iterable<Row> | AsyncIterable<Row>, schema?: Schema): AsyncGenerator<RecordBatch> {
  let pending: Row[] = [];
  let fixed = schema;
  let firstRow = 0;
  const flush = () => {
    fixed ??= inferSchema(pending);
    const batch = rowsToBatch(pending, fixed, firstRow);
    firstRow += pending.length;
    pending = [];
    return batch;
  };
  for await (const row of rows as AsyncIterable<Row>) {
    pending.push(row);
    if (pending.length >= ROWS_PER_BATCH) yield flush();
  }
  if (pending.length > 0 || firstRow === 0) yield flush();
}
