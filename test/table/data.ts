/** Tables for the Table tests: deterministic values of every type the issue names. */
import {
  Bool,
  DateDay,
  Decimal,
  Field,
  Float32,
  Float64,
  Int32,
  Int64,
  List,
  makeBuilder,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimestampMicrosecond,
  TimestampMillisecond,
  Utf8,
  type DataType,
} from "apache-arrow";
import type { Readable } from "node:stream";
import type { System } from "../../src/systems/contract.js";

const CATS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"];

/** An Arrow column of `values` (null and undefined are nulls). */
export function column(type: DataType, values: unknown[]) {
  const builder = makeBuilder({ type, nullValues: [null, undefined] });
  for (const v of values) builder.append(v);
  return builder.finish().flush();
}

export function batchOf(fields: Field[], columns: ReturnType<typeof column>[], length: number): RecordBatch {
  const schema = new Schema(fields);
  return new RecordBatch(schema, makeData({ type: new Struct(fields), length, nullCount: 0, children: columns }));
}

/** Decimal(10,2) words for an integer number of cents. */
export function cents(value: number): Uint32Array {
  const words = new Uint32Array(4);
  let v = BigInt.asUintN(128, BigInt(value));
  for (let i = 0; i < 4; i++, v >>= 32n) words[i] = Number(v & 0xffffffffn);
  return words;
}

/** `n` rows with every type: ints, floats, strings, booleans, timestamps (tz and not), dates, decimals, nulls, lists, structs. */
export function everyTypeTable(n: number, first = 0): Table {
  const ids = Array.from({ length: n }, (_, i) => first + i);
  const item = new Field("item", new Int64(), true);
  const structType = new Struct([new Field("a", new Int32(), true), new Field("b", new Utf8(), true)]);
  const fields = [
    new Field("id", new Int64(), false),
    new Field("i32", new Int32(), true),
    new Field("f64", new Float64(), true),
    new Field("f32", new Float32(), true),
    new Field("s", new Utf8(), true),
    new Field("flag", new Bool(), true),
    new Field("ts_utc", new TimestampMicrosecond("UTC"), true),
    new Field("ts_local", new TimestampMillisecond(), true),
    new Field("day", new DateDay(), true),
    new Field("price", new Decimal(2, 10, 128), true),
    new Field("tags", new List(item), true),
    new Field("point", structType, true),
    new Field("split", new Utf8(), true),
  ];
  const columns = [
    column(new Int64(), ids.map(BigInt)),
    column(
      new Int32(),
      ids.map((i) => (i % 7 === 0 ? null : i * 3 - 1000)),
    ),
    column(
      new Float64(),
      ids.map((i) => (i % 11 === 0 ? null : i / 8 - 3.25)),
    ),
    column(
      new Float32(),
      ids.map((i) => i * 0.5),
    ),
    column(
      new Utf8(),
      ids.map((i) => (i % 13 === 0 ? null : `${CATS[i % 10]}-${i % 4}`)),
    ),
    column(
      new Bool(),
      ids.map((i) => (i % 5 === 0 ? null : i % 2 === 0)),
    ),
    column(
      new TimestampMicrosecond("UTC"),
      ids.map((i) => (i % 9 === 0 ? null : 1_700_000_000_000 + i * 1000)),
    ),
    column(
      new TimestampMillisecond(),
      ids.map((i) => 1_600_000_000_000 + i),
    ),
    column(
      new DateDay(),
      ids.map((i) => (i % 6 === 0 ? null : Date.UTC(2020, 0, 1) + (i % 400) * 86_400_000)),
    ),
    column(
      new Decimal(2, 10, 128),
      ids.map((i) => (i % 8 === 0 ? null : cents(i * 101 - 5000))),
    ),
    column(
      new List(item),
      ids.map((i) => (i % 10 === 0 ? null : Array.from({ length: i % 4 }, (_, k) => BigInt(i * 10 + k)))),
    ),
    column(
      structType,
      ids.map((i) => (i % 12 === 0 ? null : { a: i % 100, b: i % 3 === 0 ? null : `p${i}` })),
    ),
    column(
      new Utf8(),
      ids.map((i) => (i % 3 === 0 ? "test" : "train")),
    ),
  ];
  return new Table([batchOf(fields, columns, n)]);
}

/** The bench/ML shape: id, x, y, cat (10 values), text (~20 chars), ts, split. Seeded. */
export function mlTable(n: number, first = 0, seed = 1): Table {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 4294967296;
  };
  const id = new BigInt64Array(n);
  const x = new Float64Array(n);
  const y = new Float32Array(n);
  const ts = new BigInt64Array(n);
  const cat: string[] = new Array(n);
  const text: string[] = new Array(n);
  const split: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    id[i] = BigInt(first + i);
    x[i] = next() * 1000 - 500;
    y[i] = next();
    ts[i] = BigInt(1_700_000_000_000_000 + (first + i) * 1_000_000);
    cat[i] = CATS[Math.floor(next() * 10)]!;
    let t = "";
    for (let k = 15 + Math.floor(next() * 11); k > 0; k--) t += String.fromCharCode(97 + Math.floor(next() * 26));
    text[i] = t;
    split[i] = (first + i) % 10 < 8 ? "train" : "test";
  }
  const fields = [
    new Field("id", new Int64(), false),
    new Field("x", new Float64(), false),
    new Field("y", new Float32(), false),
    new Field("cat", new Utf8(), false),
    new Field("text", new Utf8(), false),
    new Field("ts", new TimestampMicrosecond("UTC"), false),
    new Field("split", new Utf8(), false),
  ];
  const children = [
    makeData({ type: new Int64(), length: n, data: id }),
    makeData({ type: new Float64(), length: n, data: x }),
    makeData({ type: new Float32(), length: n, data: y }),
    column(new Utf8(), cat),
    column(new Utf8(), text),
    makeData({ type: new TimestampMicrosecond("UTC"), length: n, data: ts }),
    column(new Utf8(), split),
  ];
  return new Table([batchOf(fields, children, n)]);
}

/** A System whose reads are counted: requests and bytes served. */
export function countingSystem(system: System): { system: System; requests: () => number; bytes: () => number; reset: () => void } {
  let requests = 0;
  let bytes = 0;
  const counted = new Proxy(system, {
    get(target, property, receiver) {
      if (property === "readBytes" && target.readBytes) {
        return async (...args: Parameters<NonNullable<System["readBytes"]>>) => {
          requests++;
          const read = await target.readBytes!(...args);
          bytes += read.length;
          return read;
        };
      }
      if (property !== "read") {
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      }
      return async (...args: Parameters<System["read"]>) => {
        requests++;
        const stream: Readable = await target.read(...args);
        stream.on("data", (chunk: Buffer) => (bytes += chunk.length));
        return stream;
      };
    },
  });
  return { system: counted, requests: () => requests, bytes: () => bytes, reset: () => ((requests = 0), (bytes = 0)) };
}

/** Row values made comparable with `toEqual` (typed arrays and Arrow rows as plain JS). */
export function plain(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === "bigint" || typeof value === "number" || typeof value === "string" || typeof value === "boolean") return value;
  if (value instanceof Uint32Array) return Array.from(value).join(",");
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<unknown>, plain);
  const v = value as { toArray?: () => unknown; toJSON?: () => unknown };
  if (typeof v.toJSON === "function" && !(value instanceof Date)) {
    const json = v.toJSON();
    if (Array.isArray(json)) return json.map(plain);
    if (json && typeof json === "object") return Object.fromEntries(Object.entries(json).map(([k, x]) => [k, plain(x)]));
    return json;
  }
  return String(value);
}

/** Every row of a table as plain objects, sorted by id. */
export function rowsById(t: Table): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < t.numRows; i++) {
    const row: Record<string, unknown> = {};
    for (const f of t.schema.fields) row[f.name] = plain(t.getChild(f.name)!.get(i));
    rows.push(row);
  }
  return rows.sort((a, b) => Number(a.id) - Number(b.id));
}
