/**
 * Decoding one unit (a row group or a slice of one) into Arrow JS record batches: only the needed
 * column chunks are read through the range source; partition columns are added back as
 * constants; the row filter is applied; columns come out in the order asked for.
 *
 * Row groups of flat columns are decoded on this thread (decode/). The rest run in a wasm pool's
 * workers, chosen by the caller: whole-table reads use the shared pool, several units at once;
 * streams use a pool of one worker, so their memory stays one parquet-wasm instance and a few row
 * groups (each worker's instance and heap adds tens of MB).
 */
import { type Data, DataType, Field, makeData, RecordBatch, RecordBatchReader, Schema, Struct } from "apache-arrow";
import type { Dataset } from "./dataset.js";
import { matchingRows, type Predicate } from "./filter.js";
import { giveChunkBuffer, takeChunkBuffer } from "../../parquet/chunk-buffers.js";
import { Arena } from "../../parquet/decode/arena.js";
import { decompressorFor } from "../../parquet/decode/decompress.js";
import { decodeRowGroup, NotHandled, planRowGroup } from "../../parquet/decode/row-group.js";
import type { ByteSpan, Footer } from "../../parquet/footer.js";
import { constantData, typedValue } from "./partition.js";
import type { Unit } from "./plan.js";
import { picksOf, take } from "./take.js";
import { type WasmPool, wasmPool } from "../../parquet/wasm-pool.js";

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

/** The unit's batches. Decoding is queued at once, so callers overlap several units by starting them early. */
export async function readUnit(dataset: Dataset, unit: Unit, projection: Projection, batchSize: number, pool: WasmPool, arena?: Arena): Promise<RecordBatch[]> {
  const partitionColumns = dataset.partitionCols.filter((c) => projection.columns.includes(c) || projection.predicate.flat().some((p) => p.column === c));
  const decoded = projection.fileColumns.length > 0 ? await decode(pool, dataset, unit, projection.fileColumns, batchSize, arena) : countOnly(unit, batchSize);
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

async function decode(pool: WasmPool, dataset: Dataset, unit: Unit, columns: string[], batchSize: number, arena: Arena | undefined): Promise<RecordBatch[]> {
  // The footer is parsed here first: a file that is not Parquet fails with InvalidInput.
  const footer = await dataset.footer(unit.file);
  const spans = chunkSpans(footer, unit.rowGroup, columns);
  const inJs = await decodeInJs(dataset, unit, footer, columns, spans, arena);
  if (inJs) {
    const whole = inJs.slice(unit.offset, unit.offset + unit.rows);
    const batches: RecordBatch[] = [];
    for (let start = 0; start < whole.numRows; start += batchSize) batches.push(whole.slice(start, Math.min(start + batchSize, whole.numRows)));
    return batches;
  }
  const options = { columns, rowGroups: [unit.rowGroup], batchSize: Math.min(batchSize, unit.rows), offset: unit.offset, limit: unit.rows };
  const streams = await pool.decode(dataset.source(unit.file), options, spans);
  return streams.flatMap((stream) => RecordBatchReader.from(stream).readAll());
}

/** Set to "wasm" to decode every row group with parquet-wasm (to compare the two decoders). */
const DECODER = process.env.STOWAGE_PARQUET_DECODER;

/** Loads the native zstd decoder while the manifest and footers are read (loading it takes ~40 ms). */
export function prepareDecoders(): void {
  if (DECODER !== "wasm") void decompressorFor("ZSTD");
}

/**
 * The whole row group decoded on this thread (see decode/row-group.ts), or undefined where
 * parquet-wasm must do it. A read's error is thrown; a decoding failure falls back to parquet-wasm,
 * which reports a damaged file its own way.
 */
async function decodeInJs(
  dataset: Dataset,
  unit: Unit,
  footer: Footer,
  columns: string[],
  spans: ByteSpan[],
  arena: Arena | undefined,
): Promise<RecordBatch | undefined> {
  if (DECODER === "wasm") return undefined;
  const types = columns.map((name) => ({ name, type: dataset.schema.fields.find((f) => f.name === name)!.type }));
  const plan = await planRowGroup(footer, unit.rowGroup, types);
  if (!plan) return undefined;
  const source = dataset.source(unit.file);
  // Nothing decoded keeps a view of these buffers, so the next row group reads into them.
  const buffers = spans.map((span) => takeChunkBuffer(span.end - span.start));
  try {
    // Every read settles before a buffer can go back: a failed one must not leave another writing into it.
    const settled = await Promise.allSettled(spans.map(async (span, i) => ({ span, bytes: await source.read(span.start, span.end, buffers[i]) })));
    const failed = settled.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
    const read = settled.map((r) => (r as PromiseFulfilledResult<{ span: ByteSpan; bytes: Uint8Array }>).value);
    const bytesOf = (want: ByteSpan) => {
      const hit = read.find(({ span }) => span.start <= want.start && want.end <= span.end);
      if (!hit) throw new NotHandled("column chunk outside the spans read");
      return hit.bytes.subarray(want.start - hit.span.start, want.end - hit.span.start);
    };
    try {
      return assemble(await decodeRowGroup(plan, bytesOf, arena), columns, plan.rows);
    } catch {
      return undefined;
    }
  } finally {
    for (const buffer of buffers) giveChunkBuffer(buffer);
  }
}

/** Chunks closer than this are read together: a few bytes more cost less than another request to an object store. */
const JOIN_GAP = 64 * 1024;

/** Where the row group's chunks of these columns are, near ones joined (one read each). */
export function chunkSpans(footer: Pick<Footer, "rowGroups">, rowGroup: number, columns: readonly string[]): ByteSpan[] {
  const spans = columns.flatMap((c) => footer.rowGroups[rowGroup]?.chunks.get(c) ?? []).sort((a, b) => a.start - b.start);
  const joined: ByteSpan[] = [];
  for (const span of spans) {
    const last = joined.at(-1);
    if (last && span.start <= last.end + JOIN_GAP) last.end = Math.max(last.end, span.end);
    else joined.push({ ...span });
  }
  return joined;
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

/**
 * An arena for a read that keeps every row it decodes (no filter, no limit): room for the
 * fixed-width values and string offsets of every unit (whole row groups being what is decoded),
 * and for string bytes as much as their chunks hold uncompressed (a dictionary-encoded column
 * gathers more than that; what does not fit is allocated on its own).
 */
export async function arenaFor(dataset: Dataset, units: readonly Unit[], projection: Projection): Promise<Arena | undefined> {
  if (projection.predicate.length > 0) return undefined;
  const types = projection.fileColumns.map((name) => dataset.schema.fields.find((f) => f.name === name)!.type);
  const bytesPerRow = types.reduce((sum, type) => sum + arenaBytesPerRow(type), 0);
  const strings = projection.fileColumns.filter((_, i) => isByteArray(types[i]));
  const groups = new Map(units.map((u) => [`${u.file.relative}#${u.rowGroup}`, u]));
  let bytes = 0;
  for (const unit of groups.values()) {
    bytes += (unit.offset + unit.rows + 1) * bytesPerRow + 8 * projection.fileColumns.length;
    const columns = (await dataset.footer(unit.file)).metadata.row_groups[unit.rowGroup]?.columns ?? [];
    for (const chunk of columns) {
      const path = chunk.meta_data?.path_in_schema;
      if (path?.length === 1 && strings.includes(path[0]!)) bytes += Number(chunk.meta_data!.total_uncompressed_size) + 64;
    }
  }
  return bytes >= MIN_ARENA ? new Arena(bytes) : undefined;
}

const isByteArray = (type: DataType) => DataType.isUtf8(type) || DataType.isBinary(type);

/** What a row of a column takes in the arena: its value (8- and 16-bit integers decode as 32-bit words), or a string's offset. */
function arenaBytesPerRow(type: DataType): number {
  if (DataType.isInt(type) || DataType.isDate(type)) return Math.max(4, type.ArrayType.BYTES_PER_ELEMENT);
  if (DataType.isFloat(type) || DataType.isTimestamp(type)) return type.ArrayType.BYTES_PER_ELEMENT;
  return isByteArray(type) ? 4 : 0;
}

/** Below this, allocating results one by one costs nothing worth saving. */
const MIN_ARENA = 1 << 20;

/** Each unit's batches, in order, decoded in the pool's workers with enough units started ahead to keep them all busy. */
export async function* readUnits(
  dataset: Dataset,
  units: readonly Unit[],
  projection: Projection,
  batchSize: number,
  arena?: Arena,
): AsyncGenerator<RecordBatch[]> {
  const ahead = wasmPool().size + 1;
  const started: Promise<RecordBatch[]>[] = [];
  const start = (index: number) => {
    const unit = units[index];
    if (!unit) return;
    const promise = readUnit(dataset, unit, projection, batchSize, wasmPool(), arena);
    promise.catch(() => {}); // awaited in turn; a consumer that stops early leaves the rest unawaited
    started.push(promise);
  };
  for (let i = 0; i < ahead; i++) start(i);
  for (let i = 0; i < units.length; i++) {
    start(i + ahead);
    yield await started[i]!;
  }
}
