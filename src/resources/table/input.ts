/**
 * Whatever the user hands `write` → one async stream of Arrow record batches with one schema.
 * Nothing is materialised: iterables are consumed batch by batch, so a table larger than memory
 * can be written from an async iterable.
 */
import { type DataType, RecordBatch, type Schema, Table } from "apache-arrow";
import { StowageError } from "../../errors.js";
import { batchesFromDuckDB, isDuckDBResult } from "./adapters/duckdb.js";
import { batchesFromPolars, isPolarsFrame } from "./adapters/polars.js";
import { batchesFromRows } from "./rows.js";
import type { Row, TableData } from "./types.js";

function invalid(message: string): StowageError {
  return new StowageError({ code: "InvalidInput", operation: "write", message });
}

const isAsyncIterable = (v: unknown): v is AsyncIterable<unknown> => typeof (v as AsyncIterable<unknown>)?.[Symbol.asyncIterator] === "function";
const isIterable = (v: unknown): v is Iterable<unknown> => typeof (v as Iterable<unknown>)?.[Symbol.iterator] === "function" && typeof v !== "string";

/** The batches of `data`; `schema` types row input. */
export function toBatches(data: TableData, schema?: Schema): AsyncIterable<RecordBatch> {
  // An empty Arrow table still has a schema: one empty batch carries it.
  if (data instanceof Table) return fromIterable(data.batches.length > 0 ? data.batches : [new RecordBatch(data.schema)]);
  if (data instanceof RecordBatch) return fromIterable([data]);
  if (isPolarsFrame(data)) return batchesFromPolars(data);
  if (isDuckDBResult(data)) return batchesFromDuckDB(data);
  if (isAsyncIterable(data) || isIterable(data)) return mixed(data as AsyncIterable<unknown>, schema);
  throw invalid(`cannot write a table from ${describe(data)}; pass an Arrow Table or RecordBatches, rows (objects), a DuckDB result or a Polars DataFrame`);
}

function describe(value: unknown): string {
  if (value === null || typeof value !== "object") return String(value);
  return `a ${value.constructor?.name ?? "object"}`;
}

async function* fromIterable(batches: Iterable<RecordBatch>): AsyncGenerator<RecordBatch> {
  yield* batches;
}

/** Items decide the kind: record batches, Arrow tables, or plain rows. */
async function* mixed(items: AsyncIterable<unknown> | Iterable<unknown>, schema?: Schema): AsyncGenerator<RecordBatch> {
  const iterator = isAsyncIterable(items) ? items[Symbol.asyncIterator]() : items[Symbol.iterator]();
  const first = await iterator.next();
  if (first.done) {
    if (schema) yield new RecordBatch(schema);
    else throw invalid("the data holds no rows and no `schema` was given, so the table's columns are unknown");
    return;
  }
  const rest = { [Symbol.asyncIterator]: () => iterator as AsyncIterator<unknown> };
  const all = (async function* () {
    yield first.value;
    yield* rest;
  })();
  if (first.value instanceof RecordBatch || first.value instanceof Table) {
    for await (const item of all) {
      if (item instanceof RecordBatch) yield item;
      else if (item instanceof Table) yield* item.batches;
      else throw invalid(`a stream of record batches also holds ${describe(item)}`);
    }
    return;
  }
  yield* batchesFromRows(all as AsyncIterable<Row>, schema);
}

/** Equal column names and types; dictionary ids and field metadata may differ. */
export function sameSchema(a: Schema, b: Schema): string | undefined {
  if (a.fields.length !== b.fields.length) {
    return `columns [${a.fields.map((f) => f.name).join(", ")}] vs [${b.fields.map((f) => f.name).join(", ")}]`;
  }
  for (let i = 0; i < a.fields.length; i++) {
    const fa = a.fields[i]!;
    const fb = b.fields[i]!;
    if (fa.name !== fb.name || typeName(fa.type) !== typeName(fb.type)) return `column "${fa.name}" ${fa.type} vs "${fb.name}" ${fb.type}`;
  }
  return undefined;
}

function typeName(type: DataType): string {
  return String(type);
}

/** Passes batches through, rejecting one whose schema differs from the first. */
export async function* checkedBatches(batches: AsyncIterable<RecordBatch>, onFirst: (schema: Schema) => void): AsyncGenerator<RecordBatch> {
  let schema: Schema | undefined;
  let index = 0;
  for await (const batch of batches) {
    if (!schema) onFirst((schema = batch.schema));
    else {
      const difference = sameSchema(schema, batch.schema);
      if (difference) throw invalid(`batch ${index} has a different schema from batch 0: ${difference}`);
    }
    index++;
    yield batch;
  }
}
