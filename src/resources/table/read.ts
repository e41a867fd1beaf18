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
import { isStowageError, StowageError } from "../../errors.js";
import type { Dataset } from "./dataset.js";
import { matchingRows, type Predicate } from "./filter.js";
import { giveChunkBuffer, takeChunkBuffer } from "../../parquet/chunk-buffers.js";
import { Arena } from "../../parquet/decode/arena.js";
import { toArrowData } from "../../parquet/decode/arrow-data.js";
import { decompressorFor } from "../../parquet/decode/decompress.js";
import { decodeRowGroup, NotHandled, planRowGroup, type RowGroupPlan } from "../../parquet/decode/row-group.js";
import { type DecodeThreads, decodeThreads } from "../../parquet/decode/threads.js";
import type { ByteSpan, Footer } from "../../parquet/footer.js";
import { verifyPageChecksums } from "../../parquet/checksums.js";
import { assertReadable } from "../../parquet/readable.js";
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
  /** Check the CRC of every page read that carries one (ReadOptions.verifyChecksums). */
  verifyChecksums: boolean;
}

export function projectionFor(dataset: Dataset, columns: readonly string[] | undefined, predicate: Predicate, { verifyChecksums = false } = {}): Projection {
  const output = columns ? [...columns] : dataset.schema.fields.map((f) => f.name);
  const needed = new Set([...output, ...predicate.flat().map((c) => c.column)]);
  return { columns: output, fileColumns: dataset.fileColumns.filter((c) => needed.has(c)), predicate, verifyChecksums };
}

/** Builds a batch from named columns, in `order`. */
function assemble(columns: Map<string, Data>, order: readonly string[], length: number): RecordBatch {
  const fields = order.map((name) => new Field(name, columns.get(name)!.type, true));
  const children = order.map((name) => columns.get(name)!);
  return new RecordBatch(new Schema(fields), makeData({ type: new Struct(fields), length, nullCount: 0, children }));
}

/**
 * The unit's batches. Decoding is queued at once, so callers overlap several units by starting them
 * early. `threads`: decoding workers the unit may go to (whole-table reads).
 */
export async function readUnit(
  dataset: Dataset,
  unit: Unit,
  projection: Projection,
  batchSize: number,
  pool: WasmPool,
  arena?: Arena,
  threads?: DecodeThreads,
): Promise<RecordBatch[]> {
  const partitionColumns = dataset.partitionCols.filter((c) => projection.columns.includes(c) || projection.predicate.flat().some((p) => p.column === c));
  const decoded =
    projection.fileColumns.length > 0
      ? await decode(pool, dataset, unit, projection.fileColumns, batchSize, arena, projection.verifyChecksums, threads)
      : countOnly(unit, batchSize);
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

async function decode(
  pool: WasmPool,
  dataset: Dataset,
  unit: Unit,
  columns: string[],
  batchSize: number,
  arena: Arena | undefined,
  verify: boolean,
  threads?: DecodeThreads,
): Promise<RecordBatch[]> {
  // The footer is parsed here first: a file that is not Parquet fails with InvalidInput, a column no
  // decoder here takes (encrypted, an unknown codec or encoding) with Unsupported.
  const footer = await dataset.footer(unit.file);
  assertReadable(footer.problems, columns);
  if (verify) await verifyPageChecksums(dataset.source(unit.file), footer, unit.rowGroup, columns);
  const spans = chunkSpans(footer, unit.rowGroup, columns);
  const inJs = await decodeInJs(dataset, unit, footer, columns, spans, arena, threads);
  if (inJs) {
    const whole = inJs.slice(unit.offset, unit.offset + unit.rows);
    const batches: RecordBatch[] = [];
    for (let start = 0; start < whole.numRows; start += batchSize) batches.push(whole.slice(start, Math.min(start + batchSize, whole.numRows)));
    return batches;
  }
  const options = { columns, rowGroups: [unit.rowGroup], batchSize: Math.min(batchSize, unit.rows), offset: unit.offset, limit: unit.rows };
  try {
    const streams = await pool.decode(dataset.source(unit.file), options, spans, footer.wasmFooter);
    return streams.flatMap((stream) => RecordBatchReader.from(stream).readAll());
  } catch (error) {
    // parquet-wasm failed on the row group: the columns are decoded one by one, so one it cannot
    // decode but the JavaScript decoder can (DuckDB's INT32 deltas wider than 32 bits trap it)
    // does not fail the others. A column no decoder reads still fails the read.
    if (columns.length < 2 || !isStowageError(error, "InvalidInput")) throw error;
    const perColumn = await Promise.all(columns.map((column) => decode(pool, dataset, unit, [column], batchSize, arena, false, threads)));
    return zipColumns(perColumn, columns);
  }
}

/** Batches of single columns, decoded apart (their batch sizes may differ), as batches of all the columns. */
function zipColumns(parts: RecordBatch[][], names: readonly string[]): RecordBatch[] {
  const chunks = parts.map((batches, i) => batches.map((batch) => batch.getChild(names[i]!)!.data[0]!));
  const ends = new Set<number>();
  for (const column of chunks) {
    let at = 0;
    for (const data of column) ends.add((at += data.length));
  }
  const batches: RecordBatch[] = [];
  let start = 0;
  for (const end of [...ends].sort((a, b) => a - b)) {
    if (end <= start) continue;
    const columns = new Map<string, Data>();
    chunks.forEach((column, i) => {
      let at = 0;
      const data = column.find((d) => (at += d.length) > start);
      if (!data || at < end)
        throw new StowageError({ code: "InvalidInput", operation: "read", message: `column ${names[i]} holds fewer rows than the others` });
      columns.set(names[i]!, data.slice(start - (at - data.length), end - start));
    });
    batches.push(assemble(columns, names, end - start));
    start = end;
  }
  return batches;
}

/** Set to "wasm" to decode every row group with parquet-wasm (to compare the two decoders). */
const DECODER = process.env.STOWAGE_PARQUET_DECODER;

/** Loads the native zstd decoder while the manifest and footers are read (loading it takes ~40 ms). */
export function prepareDecoders(): void {
  if (DECODER !== "wasm") void decompressorFor("ZSTD");
}

/**
 * Below this many bytes of pages to decode, a read is over about when a worker would be ready
 * (starting one takes tens of ms, more from the TypeScript sources) and decodes on this thread only.
 */
const THREADS_FROM_BYTES = 96 * 2 ** 20;

/** Decoding workers for a read of these units, started; undefined for a small read (or none wanted). */
export async function threadsFor(dataset: Dataset, units: readonly Unit[], projection: Projection): Promise<DecodeThreads | undefined> {
  if (DECODER === "wasm") return undefined;
  // Workers already running (a large read a moment ago) cost nothing to use.
  if (decodeThreads()?.running) return decodeThreads();
  const wanted = new Set(projection.fileColumns);
  const groups = new Map(units.map((u) => [`${u.file.relative}#${u.rowGroup}`, u]));
  let bytes = 0;
  for (const unit of groups.values()) {
    for (const chunk of (await dataset.footer(unit.file)).metadata.row_groups[unit.rowGroup]?.columns ?? []) {
      const path = chunk.meta_data?.path_in_schema;
      if (path && wanted.has(path[0]!)) bytes += Number(chunk.meta_data!.total_uncompressed_size);
    }
    if (bytes >= THREADS_FROM_BYTES) {
      const threads = decodeThreads();
      threads?.start();
      return threads;
    }
  }
  return undefined;
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
  threads: DecodeThreads | undefined,
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
    const where = (want: ByteSpan) => {
      const at = read.findIndex(({ span }) => span.start <= want.start && want.end <= span.end);
      if (at < 0) throw new NotHandled("column chunk outside the spans read");
      return { at, start: want.start - read[at]!.span.start, end: want.end - read[at]!.span.start };
    };
    const bytesOf = (want: ByteSpan) => {
      const { at, start, end } = where(want);
      return read[at]!.bytes.subarray(start, end);
    };
    try {
      const inWorker = threads ? decodeInWorker(threads, plan, read, buffers, where) : undefined;
      return assemble(await (inWorker ?? decodeRowGroup(plan, bytesOf, arena)), columns, plan.rows);
    } catch {
      return undefined;
    }
  } finally {
    for (const buffer of buffers) giveChunkBuffer(buffer);
  }
}

/**
 * The row group decoded by a worker, or undefined when none has room (the caller decodes it). Its
 * bytes go there by transfer and the chunk buffers come back with the reply, for the next row
 * group; if the worker fails, the bytes are gone and the caller falls back to parquet-wasm, which
 * reads them again.
 */
function decodeInWorker(
  threads: DecodeThreads,
  plan: RowGroupPlan,
  read: { bytes: Uint8Array }[],
  buffers: Uint8Array[],
  where: (span: ByteSpan) => { at: number; start: number; end: number },
): Promise<Map<string, Data>> | undefined {
  if (!threads.hasRoom) return undefined;
  const chunks = plan.columns.map((column) => {
    const { at, start, end } = where(column.span);
    // Only what the read returned (a short read leaves older bytes after it in a reused buffer).
    const length = read[at]!.bytes.length;
    return {
      physical: column.physical,
      optional: column.optional,
      codec: column.codec,
      buffer: at,
      start: Math.min(start, length),
      end: Math.min(end, length),
    };
  });
  // A read served from the file's cached tail is a view of it: copied into the buffer that goes.
  read.forEach(({ bytes }, i) => {
    if (bytes.buffer !== buffers[i]!.buffer || bytes.byteOffset !== 0) buffers[i]!.set(bytes);
  });
  return threads.run({ rows: plan.rows, buffers: buffers.map((b) => b.buffer as ArrayBuffer), chunks })?.then((reply) => {
    for (const buffer of reply.buffers) giveChunkBuffer(new Uint8Array(buffer));
    if (!reply.columns) throw new NotHandled(reply.error);
    const { columns } = reply;
    return new Map(plan.columns.map((column, i) => [column.name, toArrowData(column.type, columns[i]!)]));
  });
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

const MIN_AHEAD = 5;

/** Each unit's batches, in order, decoded in the pool's workers with enough units started ahead to keep them all busy. */
export async function* readUnits(
  dataset: Dataset,
  units: readonly Unit[],
  projection: Projection,
  batchSize: number,
  arena?: Arena,
  threads?: DecodeThreads,
): AsyncGenerator<RecordBatch[]> {
  // Enough units in flight that a slow one (its pages queued behind others' on libuv's pool) does
  // not leave the decoding threads idle, and each worker has its queue full.
  const ahead = Math.max(wasmPool().size + 1, MIN_AHEAD, threads ? threads.size * 2 + 2 : 0);
  const started: Promise<RecordBatch[]>[] = [];
  const start = (index: number) => {
    const unit = units[index];
    if (!unit) return;
    const promise = readUnit(dataset, unit, projection, batchSize, wasmPool(), arena, threads);
    promise.catch(() => {}); // awaited in turn; a consumer that stops early leaves the rest unawaited
    started.push(promise);
  };
  for (let i = 0; i < ahead; i++) start(i);
  for (let i = 0; i < units.length; i++) {
    start(i + ahead);
    yield await started[i]!;
  }
}
