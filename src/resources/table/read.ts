/**
 * Decoding one unit (a row group or a slice of one) into Arrow JS record batches: parquet-wasm
 * reads only the needed columns through the range source; partition columns are added back as
 * constants; the row filter is applied; columns come out in the order asked for.
 *
 * Where decoding runs is the caller's choice: whole-table reads use the wasm pool's workers, several
 * units at once (fastest); streams decode on this thread, so their memory stays a few row groups
 * (each worker's own parquet-wasm instance and heap would add tens of MB).
 */
import { type Data, Field, makeData, RecordBatch, RecordBatchReader, Schema, Struct } from "apache-arrow";
import type { Dataset } from "./dataset.js";
import { matchingRows, type Predicate } from "./filter.js";
import { constantData, typedValue } from "./partition.js";
import type { Unit } from "./plan.js";
import { picksOf, take } from "./take.js";
import { fromWasmBatch } from "./wasm.js";
import { wasmPool } from "./wasm-pool.js";

export interface Projection {
  /** Output columns, in order. */
  columns: string[];
  /** Columns read from the files: output and filter columns that are not partition columns. */
  fileColumns: string[];
  predicate: Predicate;
}

export function projectionFor(dataset: Dataset, columns: readonly string[] | undefined, predicate: Predicate): Projection {
  const output = columns ? [...columns] : dataset.schema.fields.map((f) => f.name);
  const needed = new Set([...output, ...predicate.flat().map((c) => c.column)]);
  return { columns: output, fileColumns: dataset.fileColumns.filter((c) => needed.has(c)), predicate };
}

/** Builds a batch from named columns, in `order`. */
function assemble(columns: Map<string, Data>, order: readonly string[], length: number): RecordBatch {
  const fields = order.map((name) => new Field(name, columns.get(name)!.type, true));
  const children = order.map((name) => columns.get(name)!);
  return new RecordBatch(new Schema(fields), makeData({ type: new Struct(fields), length, nullCount: 0, children }));
}

export type DecodeIn = "workers" | "thread";

/** The unit's batches. Decoding starts at once, so callers overlap several units by starting them early. */
export async function readUnit(dataset: Dataset, unit: Unit, projection: Projection, batchSize: number, where: DecodeIn): Promise<RecordBatch[]> {
  const partitionColumns = dataset.partitionCols.filter((c) => projection.columns.includes(c) || projection.predicate.flat().some((p) => p.column === c));
  const decode = where === "workers" ? decodeInWorkers : decodeInThread;
  const decoded = projection.fileColumns.length > 0 ? await decode(dataset, unit, projection.fileColumns, batchSize) : countOnly(unit, batchSize);
  const batches: RecordBatch[] = [];
  for (const batch of decoded) {
    const columns = new Map<string, Data>();
    for (const field of batch.schema.fields) columns.set(field.name, batch.getChild(field.name)!.data[0]!);
    for (const name of partitionColumns) {
      const type = dataset.schema.fields.find((f) => f.name === name)!.type;
      columns.set(name, constantData(type, typedValue(unit.file.partition[name] ?? null, type), batch.numRows));
    }
    let result = assemble(columns, [...columns.keys()], batch.numRows);
    if (projection.predicate.length > 0) {
      const rows = matchingRows(projection.predicate, result);
      if (rows.length === 0) continue;
      if (rows.length < result.numRows) result = new RecordBatch(result.schema, take([result.data], picksOf(rows)));
    }
    batches.push(assemble(new Map(projection.columns.map((name) => [name, result.getChild(name)!.data[0]!])), projection.columns, result.numRows));
  }
  return batches;
}

// Nested columns arrive as one chunk per batch; a batch with several would need combining.

async function decodeInWorkers(dataset: Dataset, unit: Unit, columns: string[], batchSize: number): Promise<RecordBatch[]> {
  // The footer is parsed here first: a file that is not Parquet fails with InvalidInput.
  await dataset.footer(unit.file);
  const streams = await wasmPool().decode(dataset.source(unit.file), { columns, rowGroups: [unit.rowGroup], batchSize, offset: unit.offset, limit: unit.rows });
  return streams.flatMap((stream) => RecordBatchReader.from(stream).readAll());
}

async function decodeInThread(dataset: Dataset, unit: Unit, columns: string[], batchSize: number): Promise<RecordBatch[]> {
  const handle = await dataset.handle(unit.file);
  const stream = (await handle.stream({ columns, rowGroups: [unit.rowGroup], batchSize, offset: unit.offset, limit: unit.rows })) as ReadableStream;
  const batches: RecordBatch[] = [];
  for await (const wasmBatch of stream as unknown as AsyncIterable<Parameters<typeof fromWasmBatch>[0]>) batches.push(...fromWasmBatch(wasmBatch));
  return batches;
}

/** Only partition columns wanted: no bytes to read, just the row count from the footer. */
function countOnly(unit: Unit, batchSize: number): RecordBatch[] {
  const batches: RecordBatch[] = [];
  for (let done = 0; done < unit.rows; done += batchSize) {
    const length = Math.min(batchSize, unit.rows - done);
    batches.push(new RecordBatch(new Schema([]), makeData({ type: new Struct([]), length, nullCount: 0, children: [] })));
  }
  return batches;
}

/** Each unit's batches, in order, decoded in the pool's workers with enough units started ahead to keep them all busy. */
export async function* readUnits(dataset: Dataset, units: readonly Unit[], projection: Projection, batchSize: number): AsyncGenerator<RecordBatch[]> {
  const ahead = wasmPool().size + 1;
  const started: Promise<RecordBatch[]>[] = [];
  const start = (index: number) => {
    const unit = units[index];
    if (!unit) return;
    const promise = readUnit(dataset, unit, projection, batchSize, "workers");
    promise.catch(() => {}); // awaited in turn; a consumer that stops early leaves the rest unawaited
    started.push(promise);
  };
  for (let i = 0; i < ahead; i++) start(i);
  for (let i = 0; i < units.length; i++) {
    start(i + ahead);
    yield await started[i]!;
  }
}
