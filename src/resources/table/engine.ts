/**
 * The Table operations, loaded on first use so that importing Stowage does not load Arrow or
 * parquet-wasm. Every read opens the dataset afresh, so it sees the table as of that moment.
 */
import { RecordBatch, type Schema, Table as ArrowTable, tableToIPC } from "apache-arrow";
import { StowageError } from "../../errors.js";
import { writable } from "../../systems/extensions.js";
import { transfer } from "../../transfer/engine.js";
import { toDuckDB } from "./adapters/duckdb.js";
import { toPolars } from "./adapters/polars.js";
import { toRows } from "./adapters/rows.js";
import { selectFields } from "./columns.js";
import { Dataset, isReplacedDataFile } from "./dataset.js";
import { compileFilter, filterColumns } from "./filter.js";
import type { ResolvedLocation } from "./location.js";
import { encodeSchema, joinPath, MANIFEST_NAME, type Manifest, newGeneration, readManifest, writeManifest } from "./manifest.js";
import { planUnits } from "./plan.js";
import { arenaFor, prepareDecoders, projectionFor, readUnits, threadsFor } from "./read.js";
import { TableStream } from "./stream.js";
import type { FetchOptions, OutputFormat, ReadOptions, StreamOptions } from "./types.js";
import { parquetWasm } from "../../parquet/wasm.js";
import { removeFiles, removeReplaced, type WriteRequest, writeTable } from "./write.js";

export { writeTable };
export type { WriteRequest };

/** Tries a read again when a replace removed a file it was about to read (it then sees the new table). */
async function withReplaceRetry<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (!isReplacedDataFile(error) || attempt >= 4) throw error;
    }
  }
}

function checkColumns(dataset: Dataset, columns: readonly string[] | undefined): void {
  for (const column of columns ?? []) {
    if (!dataset.schema.fields.some((f) => f.name === column)) {
      throw new StowageError({
        code: "InvalidInput",
        operation: "read",
        path: dataset.root,
        message: `unknown column "${column}" (columns: ${dataset.schema.fields.map((f) => f.name).join(", ")})`,
      });
    }
  }
}

async function openForRead(location: ResolvedLocation, options: ReadOptions) {
  const dataset = await Dataset.open(location.system, location.root, options.signal);
  checkColumns(dataset, options.columns);
  const predicate = compileFilter(options.filter, dataset.schema);
  const units = await planUnits(dataset, predicate);
  return { dataset, units, projection: projectionFor(dataset, options.columns, predicate, { verifyChecksums: options.verifyChecksums ?? false }) };
}

/** The output schema for a projection, when no batch was read (an empty result). */
function emptySchema(dataset: Dataset, columns: string[]): Schema {
  return selectFields(dataset.schema, columns);
}

/**
 * Rows per decoded batch of a whole-table read: a whole row group each. The result holds them all
 * anyway, and fewer batches are fewer messages and Arrow objects to assemble.
 */
const WHOLE_UNIT = Number.POSITIVE_INFINITY;

export async function fetchArrow(location: ResolvedLocation, options: ReadOptions & { limit?: number }): Promise<ArrowTable> {
  prepareDecoders();
  return withReplaceRetry(async () => {
    const { dataset, units, projection } = await openForRead(location, options);
    try {
      // Large reads decode on every core: row groups go to decoding workers as well.
      const threads = await threadsFor(dataset, units, projection);
      const batches: RecordBatch[] = [];
      let rows = 0;
      const arena = options.limit === undefined ? await arenaFor(dataset, units, projection) : undefined;
      for await (const unitBatches of readUnits(dataset, units, projection, WHOLE_UNIT, arena, threads)) {
        for (const batch of unitBatches) {
          options.signal?.throwIfAborted();
          const room = (options.limit ?? Infinity) - rows;
          batches.push(batch.numRows > room ? batch.slice(0, room) : batch);
          rows += Math.min(batch.numRows, room);
          if (rows >= (options.limit ?? Infinity)) break;
        }
        if (rows >= (options.limit ?? Infinity)) break;
      }
      const schema = batches[0]?.schema ?? emptySchema(dataset, projection.columns);
      return new ArrowTable(
        schema,
        batches.map((b) => new RecordBatch(schema, b.data)),
      );
    } finally {
      dataset.close();
    }
  });
}

export async function convert(table: ArrowTable, format: OutputFormat | undefined): Promise<unknown> {
  switch (format ?? "arrow") {
    case "arrow":
      return table;
    case "rows":
      return toRows(table);
    case "polars":
      return toPolars(table);
    case "duckdb":
      return toDuckDB(table, parquetBytes);
    default:
      throw new StowageError({ code: "InvalidInput", operation: "read", message: `unknown format "${String(format)}"; use arrow, rows, duckdb or polars` });
  }
}

/** A whole (small) table as Parquet bytes, for handing to DuckDB. */
async function parquetBytes(table: ArrowTable): Promise<Uint8Array> {
  const pw = await parquetWasm();
  return pw.writeParquet(pw.Table.fromIPCStream(tableToIPC(table, "stream")));
}

export async function fetchTable(location: ResolvedLocation, options: FetchOptions): Promise<unknown> {
  return convert(await fetchArrow(location, options), options.format);
}

export function streamTable(location: ResolvedLocation, options: StreamOptions): TableStream {
  const batchSize = options.batchSize ?? 1024;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new StowageError({ code: "InvalidInput", operation: "stream", message: `batchSize must be a positive integer, not ${batchSize}` });
  const shard = options.shard;
  if (shard && !(Number.isInteger(shard.count) && shard.count >= 1 && Number.isInteger(shard.index) && shard.index >= 0 && shard.index < shard.count)) {
    throw new StowageError({
      code: "InvalidInput",
      operation: "stream",
      message: `shard must be { index, count } with 0 <= index < count, not ${JSON.stringify(shard)}`,
    });
  }
  prepareDecoders();
  return new TableStream(() => openForRead(location, options), {
    batchSize,
    seed: options.shuffleSeed,
    shuffleBufferSize: options.shuffleBufferSize ?? 10_000,
    dropLast: options.dropLast ?? false,
    shard,
    prefetch: options.prefetch ?? 1,
    resumeFrom: options.resumeFrom,
    signal: options.signal,
  });
}

export async function countRows(location: ResolvedLocation, options: Pick<ReadOptions, "filter" | "signal">): Promise<number> {
  return withReplaceRetry(async () => {
    const dataset = await Dataset.open(location.system, location.root, options.signal);
    try {
      const predicate = compileFilter(options.filter, dataset.schema);
      if (predicate.length === 0 && dataset.manifest) return dataset.files.reduce((n, f) => n + (f.rows ?? 0), 0);
      const units = await planUnits(dataset, predicate);
      if (predicate.length === 0) return units.reduce((n, u) => n + u.rows, 0);
      // With a filter, only the filter's columns are decoded.
      const projection = projectionFor(dataset, filterColumns(predicate), predicate);
      let rows = 0;
      for await (const batches of readUnits(dataset, units, projection, 65_536)) for (const batch of batches) rows += batch.numRows;
      return rows;
    } finally {
      dataset.close();
    }
  });
}

export async function tableSchema(location: ResolvedLocation, signal?: AbortSignal): Promise<Schema> {
  return withReplaceRetry(async () => {
    const dataset = await Dataset.open(location.system, location.root, signal);
    try {
      const metadata = new Map(dataset.schema.metadata);
      for (const [key, value] of Object.entries(dataset.metadata)) metadata.set(key, typeof value === "string" ? value : JSON.stringify(value));
      return new (dataset.schema.constructor as typeof Schema)(dataset.schema.fields, metadata);
    } finally {
      dataset.close();
    }
  });
}

export async function tableMetadata(location: ResolvedLocation, signal?: AbortSignal): Promise<Record<string, unknown>> {
  const dataset = await Dataset.open(location.system, location.root, signal);
  dataset.close();
  return dataset.metadata;
}

export async function tableExists(location: ResolvedLocation, signal?: AbortSignal): Promise<boolean> {
  try {
    const dataset = await Dataset.open(location.system, location.root, signal);
    dataset.close();
    return true;
  } catch (error) {
    if ((error as StowageError).code === "NotFound" || (error as StowageError).code === "InvalidInput") return false;
    throw error;
  }
}

/**
 * Removes the manifest first (Stowage readers stop seeing the table at once), then the Parquet
 * files and the directories they leave empty. Other files under the path are left alone.
 */
export async function removeTable(location: ResolvedLocation): Promise<void> {
  const { root } = location;
  const system = writable(location.system, "rm", root);
  const stat = await system.stat(root).catch((error: StowageError) => {
    if (error.code === "NotFound") return undefined;
    throw error;
  });
  if (!stat) return;
  if (stat.type === "file") return system.delete([root]);
  await system.delete([joinPath(root, MANIFEST_NAME)]);
  const files: string[] = [];
  for await (const entry of system.list(root, { recursive: true })) if (entry.type === "file" && entry.path.endsWith(".parquet")) files.push(entry.path);
  await removeFiles({ system, root }, files);
  if (system.semantics.directories) await system.delete([root]).catch(() => {});
}

/**
 * Copies the table's files to `target` with the transfer engine (server-side inside one provider,
 * on the host for an SSH source, streamed otherwise), then its manifest (written last, so a reader
 * of the target sees the copy only once it is whole), then removes stale files there.
 */
export async function copyTable(source: ResolvedLocation, target: ResolvedLocation): Promise<void> {
  const dataset = await Dataset.open(source.system, source.root);
  dataset.close();
  await transfer(
    { system: source.system, path: source.root, url: source.url },
    { system: target.system, path: target.root, url: target.url },
    { files: dataset.files.map((file) => file.relative), resume: false },
  );
  const manifest: Manifest = dataset.manifest ?? (await manifestFor(dataset));
  const replaced = await readManifest(target.system, target.root);
  const destination = writable(target.system, "write", target.root);
  await writeManifest(destination, target.root, manifest);
  await removeReplaced({ system: destination, root: target.root }, manifest, replaced);
}

/** A manifest for a dataset written by another engine, built from its footers. */
async function manifestFor(dataset: Dataset): Promise<Manifest> {
  const files = await Promise.all(dataset.files.map(async (f) => ({ path: f.relative, size: f.size, rows: (await dataset.footer(f)).rows })));
  return {
    format: "stowage.table",
    version: 1,
    generation: newGeneration(),
    partitionCols: dataset.partitionCols,
    metadata: dataset.metadata,
    schema: encodeSchema(dataset.schema),
    files,
  };
}
