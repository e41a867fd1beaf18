/**
 * Writing a table. New files always get fresh names (`part-<generation>-<n>.parquet`), so nothing a
 * reader may be reading is touched; the manifest naming them is written last, in one object write;
 * only then are the replaced table's files removed (overwrite). A failure before the manifest
 * removes the new files and leaves the previous table as it was. The manifest is read again just
 * before the switch, so concurrent appends both land (unless their switches fall within the same
 * instant: there is no compare-and-swap on every system) and an overwrite never deletes the files
 * of a writer still running.
 *
 * What an engine that globs the files (Spark, DuckDB, Polars) sees meanwhile: during an overwrite,
 * the new files appear beside the old ones until the old ones are deleted right after the manifest
 * switches, so a glob taken in that window reads both; an append is visible file by file.
 */
import { Field, type RecordBatch, RecordBatch as Batch, type Schema, Schema as ArrowSchema } from "apache-arrow";
import { StowageError } from "../../errors.js";
import type { Writable } from "../../systems/extensions.js";
import { ColumnCodecs } from "../../parquet/column-codecs.js";
import { selectColumns } from "./columns.js";
import { checkedBatches, sameSchema, toBatches } from "./input.js";
import {
  decodeSchema,
  encodeSchema,
  generationTime,
  joinPath,
  type Manifest,
  type ManifestFile,
  newGeneration,
  readManifest,
  writeManifest,
} from "./manifest.js";
import { chooseColumnEncodings, chooseDictionaryColumns, ParquetFileWriter, type ParquetSettings } from "../../parquet/writer.js";
import { checkPartitionType, partitionDir, rowKeys } from "./partition.js";
import { picksOf, take } from "./take.js";
import type { TableData, TableWriteOptions } from "./types.js";

export interface WriteTarget {
  system: Writable;
  root: string;
}

export interface WriteRequest {
  data: TableData;
  partitionCols: readonly string[] | undefined;
  metadata: Record<string, unknown> | undefined;
  schema: Schema | undefined;
  options: TableWriteOptions;
}

const DEFAULT_ROW_GROUP = 100_000;
const DEFAULT_FILE_ROWS = 1_000_000;

function invalid(message: string): StowageError {
  return new StowageError({ code: "InvalidInput", operation: "write", message });
}

/** One open file per partition directory, rolled over every `maxRowsPerFile` rows. */
class PartitionWriters {
  readonly #open = new Map<string, ParquetFileWriter>();
  readonly #all: ParquetFileWriter[] = [];
  readonly #finished: ManifestFile[] = [];
  #sequence = 0;

  constructor(
    readonly target: WriteTarget,
    readonly generation: string,
    readonly settings: ParquetSettings,
    readonly maxRowsPerFile: number,
    readonly signal: AbortSignal | undefined,
  ) {}

  async push(dir: string, batch: RecordBatch): Promise<void> {
    let offset = 0;
    while (offset < batch.numRows) {
      const writer = await this.#writerFor(dir);
      const room = this.maxRowsPerFile - writer.rows;
      const part = offset === 0 && room >= batch.numRows ? batch : batch.slice(offset, offset + Math.min(room, batch.numRows - offset));
      await writer.push(part);
      offset += part.numRows;
      if (writer.rows >= this.maxRowsPerFile) await this.#finish(dir, writer);
    }
  }

  async #writerFor(dir: string): Promise<ParquetFileWriter> {
    let writer = this.#open.get(dir);
    if (!writer) {
      const name = `part-${this.generation}-${String(this.#sequence++).padStart(5, "0")}.parquet`;
      const relative = dir ? `${dir}/${name}` : name;
      const path = joinPath(this.target.root, relative);
      const { system } = this.target;
      const signal = this.signal;
      writer = new ParquetFileWriter((body) => system.write(path, body, signal ? { signal } : {}).then((result) => result.size), path, this.settings);
      this.#open.set(dir, writer);
      this.#all.push(writer);
    }
    return writer;
  }

  async #finish(dir: string, writer: ParquetFileWriter): Promise<void> {
    this.#open.delete(dir);
    const size = await writer.finish();
    this.#finished.push({ path: writer.path.slice(this.target.root.length + (this.target.root === "/" ? 0 : 1)), size, rows: writer.rows });
  }

  async finishAll(): Promise<ManifestFile[]> {
    for (const [dir, writer] of [...this.#open]) await this.#finish(dir, writer);
    return this.#finished.sort((a, b) => (a.path < b.path ? -1 : 1));
  }

  /** Stops every writer and deletes whatever files were already completed. */
  async abandon(error: unknown): Promise<void> {
    await Promise.all([...this.#open.values()].map((w) => w.abort(error)));
    const written = this.#all.map((w) => w.path);
    await this.target.system.delete(written).catch(() => {});
  }
}

/** The rows of `batch` grouped by partition directory, without the partition columns. */
function* splitByPartition(batch: RecordBatch, partitionCols: readonly string[], dataColumns: readonly string[]): Generator<[string, RecordBatch]> {
  const dataOnly = (b: RecordBatch) => selectColumns(b, dataColumns);
  if (partitionCols.length === 0) return yield ["", batch];
  const { keys, values } = rowKeys(batch, partitionCols);
  const dirOf = (key: string) => partitionDir(partitionCols, values.get(key)!);
  // Sorted input gives long runs: slice them (no copy). Otherwise gather each partition's rows.
  let runs = 1;
  for (let i = 1; i < keys.length; i++) if (keys[i] !== keys[i - 1]) runs++;
  if (runs <= values.size * 4) {
    for (let start = 0; start < keys.length;) {
      let end = start + 1;
      while (end < keys.length && keys[end] === keys[start]) end++;
      yield [dirOf(keys[start]!), dataOnly(batch.slice(start, end))];
      start = end;
    }
    return;
  }
  const rowsByKey = new Map<string, number[]>();
  keys.forEach((key, i) => {
    let rows = rowsByKey.get(key);
    if (!rows) rowsByKey.set(key, (rows = []));
    rows.push(i);
  });
  const projected = dataOnly(batch);
  for (const [key, rows] of rowsByKey) {
    const data = take([projected.data], picksOf(rows));
    yield [dirOf(key), new Batch(projected.schema, data)];
  }
}

export async function writeTable(target: WriteTarget, request: WriteRequest): Promise<Manifest> {
  const { options } = request;
  const mode = options.mode ?? "overwrite";
  const previous = await readManifest(target.system, target.root, options.signal);
  const partitionCols = [...(request.partitionCols ?? (mode === "append" ? previous?.partitionCols : undefined) ?? [])];
  if (mode === "append" && previous && previous.partitionCols.join("\0") !== partitionCols.join("\0")) {
    throw invalid(`the table is partitioned by [${previous.partitionCols.join(", ")}]; an append cannot use [${partitionCols.join(", ")}]`);
  }
  const generation = newGeneration();
  const metadata = request.metadata ?? (mode === "append" ? previous?.metadata : undefined) ?? {};
  let schema: Schema | undefined;
  let writers: PartitionWriters | undefined;
  let dataColumns: string[] = [];

  const onFirst = (first: Schema) => {
    schema = first;
    for (const column of partitionCols) {
      const field = first.fields.find((f) => f.name === column);
      if (!field) throw invalid(`partition column "${column}" is not a column of the data (columns: ${first.fields.map((f) => f.name).join(", ")})`);
      checkPartitionType(field);
    }
    if (partitionCols.length > 0 && partitionCols.length === first.fields.length)
      throw invalid("every column is a partition column; at least one must remain in the files");
    if (mode === "append" && previous) {
      const difference = sameSchema(decodeSchema(previous.schema), first);
      if (difference) throw invalid(`appended data does not match the table's schema: ${difference}`);
    }
    dataColumns = first.fields.map((f) => f.name).filter((name) => !partitionCols.includes(name));
  };

  try {
    for await (const batch of checkedBatches(toBatches(request.data, request.schema), onFirst)) {
      options.signal?.throwIfAborted();
      writers ??= new PartitionWriters(
        target,
        generation,
        {
          compression: options.compression ?? "zstd",
          rowGroupSize: options.rowGroupSize ?? DEFAULT_ROW_GROUP,
          dictionaryColumns: chooseDictionaryColumns(selectColumns(batch, dataColumns)),
          columnEncodings: chooseColumnEncodings(selectColumns(batch, dataColumns)),
          codecs: new ColumnCodecs(),
          keyValueMetadata: new Map([["stowage.metadata", JSON.stringify(metadata)]]),
        },
        options.maxRowsPerFile ?? DEFAULT_FILE_ROWS,
        options.signal,
      );
      for (const [dir, part] of splitByPartition(batch, partitionCols, dataColumns)) await writers.push(dir, part);
    }
    if (!schema) throw invalid("the data holds no record batches, so the table's columns are unknown");
    const files = writers ? await writers.finishAll() : [];
    // Read again just before the switch: a writer that committed meanwhile is built upon (append)
    // or replaced whole (overwrite), not silently dropped.
    const latest = await readManifest(target.system, target.root, options.signal);
    if (mode === "append" && latest && latest.generation !== previous?.generation) checkStillAppendable(latest, partitionCols, schema);
    const manifest: Manifest = {
      format: "stowage.table",
      version: 1,
      generation,
      partitionCols,
      metadata,
      schema: encodeSchema(withoutDictionaryIds(schema)),
      files: mode === "append" && latest ? [...latest.files, ...files] : files,
    };
    await writeManifest(target.system, target.root, manifest, options.signal);
    if (mode === "overwrite") await removeReplaced(target, manifest, latest);
    return manifest;
  } catch (error) {
    await writers?.abandon(error);
    throw error;
  }
}

/** Arrow IPC refuses a schema whose dictionary fields share ids with nothing; re-create the fields. */
function withoutDictionaryIds(schema: Schema): Schema {
  return new ArrowSchema(
    schema.fields.map((f) => new Field(f.name, f.type, f.nullable, f.metadata)),
    schema.metadata,
  );
}

/** A concurrent writer's table can take this append only if it has the same shape. */
function checkStillAppendable(latest: Manifest, partitionCols: readonly string[], schema: Schema): void {
  const difference =
    latest.partitionCols.join("\0") !== partitionCols.join("\0") ? "its partition columns changed" : sameSchema(decodeSchema(latest.schema), schema);
  if (difference) {
    throw new StowageError({ code: "Conflict", operation: "write", message: `the table was replaced while appending and ${difference}; nothing was appended` });
  }
}

/** A writer whose files carry a generation this old has crashed, not stalled: its files are orphans. */
const ORPHAN_AGE_MS = 24 * 3600_000;

/**
 * After a switch to `manifest`: deletes the `.parquet` files it does not name that belonged to the
 * `replaced` table (or, with no manifest before, to the dataset another engine wrote there), and
 * orphans of writers that crashed over a day ago. Files of a writer that may still be running are
 * never touched: it commits them later.
 */
export async function removeReplaced(target: WriteTarget, manifest: Manifest, replaced: Manifest | undefined): Promise<void> {
  const live = new Set(manifest.files.map((f) => joinPath(target.root, f.path)));
  const old = new Set((replaced?.files ?? []).map((f) => joinPath(target.root, f.path)));
  const now = Date.now();
  const stale: string[] = [];
  for await (const entry of target.system.list(target.root, { recursive: true })) {
    if (entry.type !== "file" || !entry.path.endsWith(".parquet") || live.has(entry.path)) continue;
    const started = generationTime(entry.path);
    const foreign = started === undefined && replaced === undefined;
    if (old.has(entry.path) || foreign || (started !== undefined && now - started > ORPHAN_AGE_MS)) stale.push(entry.path);
  }
  await removeFiles(target, stale);
}

/** Deletes files, then (where directories exist on their own) the directories they leave empty. */
export async function removeFiles(target: WriteTarget, paths: readonly string[]): Promise<void> {
  if (paths.length === 0) return;
  await target.system.delete(paths);
  if (target.system.semantics.directories) await removeEmptyDirs(target, paths);
}

async function removeEmptyDirs(target: WriteTarget, removed: readonly string[]): Promise<void> {
  const dirs = new Set<string>();
  for (const path of removed) {
    for (let dir = path.slice(0, path.lastIndexOf("/")); dir.length > target.root.length; dir = dir.slice(0, dir.lastIndexOf("/"))) dirs.add(dir);
  }
  // Deepest first; a directory that still holds something stays.
  for (const dir of [...dirs].sort((a, b) => b.length - a.length)) await target.system.delete([dir]).catch(() => {});
}
