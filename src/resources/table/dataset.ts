/**
 * What is at a table's path: the files to read (named by the manifest, or found by listing when
 * the data was written by another engine), their partition values, and the table's Arrow schema.
 * Per-file byte sources, footers and parquet-wasm handles are cached here for one read.
 */
import { type DataType, Field, Int64, Schema, tableFromIPC, Utf8 } from "apache-arrow";
import { isStowageError, StowageError } from "../../errors.js";
import type { System } from "../../systems/contract.js";
import { type Footer, readFooter } from "../../parquet/footer.js";
import { decodeSchema, joinPath, MANIFEST_NAME, type Manifest, readManifest } from "./manifest.js";
import { type PartitionValues, parsePartitionPath } from "./partition.js";
import type { RangeSource } from "../../parquet/source.js";
import { systemRangeSource } from "./range-source.js";
import { parquetWasm } from "../../parquet/wasm.js";
import { wasmBlob } from "../../parquet/wasm-footer.js";

export interface DataFile {
  path: string;
  relative: string;
  size: number;
  /** Known from the manifest; otherwise from the footer. */
  rows?: number;
  partition: PartitionValues;
}

type WasmParquetFile = Awaited<ReturnType<Awaited<ReturnType<typeof parquetWasm>>["ParquetFile"]["fromFile"]>>;

/**
 * A data file the read planned on is gone: an overwrite replaced the table and removed the old
 * version's files meanwhile.
 */
export function isReplacedDataFile(error: unknown): error is StowageError {
  return isStowageError(error, "NotFound") && error.path?.endsWith(".parquet") === true;
}

export class Dataset {
  readonly #sources = new Map<string, RangeSource>();
  readonly #footers = new Map<string, Promise<Footer>>();
  readonly #handles = new Map<string, Promise<WasmParquetFile>>();

  private constructor(
    readonly system: System,
    readonly root: string,
    readonly files: DataFile[],
    readonly schema: Schema,
    readonly partitionCols: string[],
    readonly metadata: Record<string, unknown>,
    readonly manifest: Manifest | undefined,
    readonly signal: AbortSignal | undefined,
  ) {}

  static async open(system: System, root: string, signal?: AbortSignal): Promise<Dataset> {
    const manifest = await readManifest(system, root, signal);
    if (manifest) {
      const files = manifest.files.map((f) => ({
        path: joinPath(root, f.path),
        relative: f.path,
        size: f.size,
        rows: f.rows,
        partition: parsePartitionPath(f.path),
      }));
      return new Dataset(system, root, files, decodeSchema(manifest.schema), manifest.partitionCols, manifest.metadata, manifest, signal);
    }
    const files = await discover(system, root, signal);
    const partitionCols = [...new Set(files.flatMap((f) => Object.keys(f.partition)))];
    const dataset = new Dataset(system, root, files, new Schema([]), partitionCols, {}, undefined, signal);
    const fileSchema = await dataset.fileSchema(files[0]!);
    const metadataText = (await dataset.footer(files[0]!)).keyValue.get("stowage.metadata");
    const partitionFields = partitionCols.map((c) => new Field(c, inferPartitionType(files.map((f) => f.partition[c] ?? null)), true));
    const schema = new Schema([...fileSchema.fields, ...partitionFields], fileSchema.metadata);
    return new Dataset(
      system,
      root,
      files,
      schema,
      partitionCols,
      metadataText ? (JSON.parse(metadataText) as Record<string, unknown>) : {},
      undefined,
      signal,
    );
  }

  source(file: DataFile): RangeSource {
    let source = this.#sources.get(file.path);
    if (!source) this.#sources.set(file.path, (source = systemRangeSource(this.system, file.path, file.size, this.signal)));
    return source;
  }

  footer(file: DataFile): Promise<Footer> {
    let footer = this.#footers.get(file.path);
    if (!footer) this.#footers.set(file.path, (footer = readFooter(this.source(file))));
    return footer;
  }

  /** parquet-wasm's handle on the file; it parses the footer (repaired where it must be) from the cached tail. */
  handle(file: DataFile): Promise<WasmParquetFile> {
    let handle = this.#handles.get(file.path);
    if (!handle) {
      handle = this.footer(file).then(async (footer) => {
        const pw = await parquetWasm();
        try {
          return await pw.ParquetFile.fromFile(wasmBlob(this.source(file), footer.wasmFooter) as unknown as Blob);
        } catch (error) {
          throw unreadableFooter(file.path, footer, error);
        }
      });
      this.#handles.set(file.path, handle);
    }
    return handle;
  }

  /** The Arrow schema stored in one file (its columns only, no partition columns). */
  async fileSchema(file: DataFile): Promise<Schema> {
    const handle = await this.handle(file);
    return tableFromIPC(handle.schema().intoIPCStream()).schema;
  }

  /** Names of the columns stored in the files (everything but the partition columns). */
  get fileColumns(): string[] {
    return this.schema.fields.map((f) => f.name).filter((n) => !this.partitionCols.includes(n));
  }

  /** Frees the WASM-side handles. */
  close(): void {
    for (const handle of this.#handles.values()) void handle.then((h) => h.free()).catch(() => {});
    this.#handles.clear();
  }
}

/**
 * parquet-wasm refused a footer hyparquet parsed: what the footer checks found is the likely cause
 * (an unknown codec, say); else the file is damaged. Never parquet-wasm's untyped error.
 */
function unreadableFooter(path: string, footer: Footer, error: unknown): StowageError {
  if (isStowageError(error)) return error;
  const known = footer.problems.values().next().value;
  if (known) return known;
  const detail = error instanceof Error ? error.message : String(error);
  return new StowageError({
    code: "InvalidInput",
    operation: "read",
    path,
    retryable: false,
    message: `${path}: the footer cannot be read (parquet-wasm: ${detail})`,
    cause: error,
  });
}

/** A table written by another engine: a single Parquet file, or the `.parquet` files below a directory. */
async function discover(system: System, root: string, signal?: AbortSignal): Promise<DataFile[]> {
  let stat;
  try {
    stat = await system.stat(root, signal ? { signal } : {});
  } catch (error) {
    if ((error as StowageError).code === "NotFound")
      throw new StowageError({ code: "NotFound", operation: "read", path: root, message: `no table at ${root}`, cause: error });
    throw error;
  }
  if (stat.type === "file") return [{ path: root, relative: root.slice(root.lastIndexOf("/") + 1), size: stat.size, partition: {} }];
  const files: DataFile[] = [];
  let others = 0;
  for await (const entry of system.list(root, { recursive: true, ...(signal ? { signal } : {}) })) {
    const relative = entry.path.slice(root === "/" ? 1 : root.length + 1);
    // Spark's convention: names starting with "_" or "." are not data (_SUCCESS, .crc, the manifest).
    if (relative.split("/").some((s) => s.startsWith("_") || s.startsWith("."))) continue;
    if (!relative.endsWith(".parquet")) {
      others++;
      continue;
    }
    files.push({ path: entry.path, relative, size: entry.size, partition: parsePartitionPath(relative) });
  }
  if (files.length === 0) {
    throw new StowageError({
      code: others > 0 ? "InvalidInput" : "NotFound",
      operation: "read",
      path: root,
      message: others > 0 ? `${root} holds ${others} files but no table (no ${MANIFEST_NAME} and no .parquet files)` : `no table at ${root}`,
    });
  }
  return files.sort((a, b) => (a.relative < b.relative ? -1 : 1));
}

function inferPartitionType(values: (string | null)[]): DataType {
  return values.every((v) => v === null || /^-?\d{1,18}$/.test(v)) ? new Int64() : new Utf8();
}
