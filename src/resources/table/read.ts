/**
 * Decoding one unit (a row group or a slice of one) into Arrow JS record batches: parquet-wasm
 * reads only the needed columns through the range source; partition columns are added back as
 * constants; the row filter is applied; columns come out in the order asked for.
 */
import { type Data, Field, makeData, RecordBatch, Schema, Struct } from "apache-arrow";
import type { Dataset } from "./dataset.js";
import { matchingRows, type Predicate } from "./filter.js";
import { constantData, typedValue } from "./partition.js";
import type { Unit } from "./plan.js";
import { picksOf, take } from "./take.js";
import { fromWasmBatch } from "./wasm.js";

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

export async function* readUnit(dataset: Dataset, unit: Unit, projection: Projection, batchSize: number): AsyncGenerator<RecordBatch> {
  const partitionColumns = dataset.partitionCols.filter((c) => projection.columns.includes(c) || projection.predicate.flat().some((p) => p.column === c));
  const decoded = projection.fileColumns.length > 0 ? decode(dataset, unit, projection.fileColumns, batchSize) : countOnly(unit, batchSize);
  for await (const batch of decoded) {
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
    yield assemble(new Map(projection.columns.map((name) => [name, result.getChild(name)!.data[0]!])), projection.columns, result.numRows);
  }
}

async function* decode(dataset: Dataset, unit: Unit, columns: string[], batchSize: number): AsyncGenerator<RecordBatch> {
  const handle = await dataset.handle(unit.file);
  const stream = (await handle.stream({ columns, rowGroups: [unit.rowGroup], batchSize, offset: unit.offset, limit: unit.rows })) as ReadableStream;
  for await (const wasmBatch of stream as unknown as AsyncIterable<Parameters<typeof fromWasmBatch>[0]>) {
    for (const batch of fromWasmBatch(wasmBatch)) {
      // Nested columns arrive as one chunk per batch; a batch with several would need combining.
      yield batch;
    }
  }
}

/** Only partition columns wanted: no bytes to read, just the row count from the footer. */
async function* countOnly(unit: Unit, batchSize: number): AsyncGenerator<RecordBatch> {
  for (let done = 0; done < unit.rows; done += batchSize) {
    const length = Math.min(batchSize, unit.rows - done);
    yield new RecordBatch(new Schema([]), makeData({ type: new Struct([]), length, nullCount: 0, children: [] }));
  }
}
