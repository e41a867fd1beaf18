/**
 * A Parquet file's footer, read with hyparquet's metadata parser from the cached tail: row counts,
 * row-group statistics for pruning, and the key-value metadata. No column data is read.
 */
import { parquetMetadata, type FileMetaData, type SchemaElement } from "hyparquet";
import { StowageError } from "../errors.js";
import { checkFile, columnProblems, encryptedFile, isEncryptedMagic } from "./readable.js";
import { ownArrayBuffer, type RangeSource } from "./source.js";
import { readStruct, type ThriftStruct } from "./thrift-compact.js";
import { type WasmFooter, wasmFooter } from "./wasm-footer.js";

export interface ColumnStats {
  min?: unknown;
  max?: unknown;
  nullCount?: number;
}

/** Bytes [start, end) of a file. */
export interface ByteSpan {
  start: number;
  end: number;
}

export interface RowGroupInfo {
  index: number;
  rows: number;
  /** Top-level column name → statistics, for columns that are not nested. */
  stats: Map<string, ColumnStats>;
  /** Top-level column name → where its column chunks are (several for a nested column). */
  chunks: Map<string, ByteSpan[]>;
}

export interface Footer {
  rows: number;
  rowGroups: RowGroupInfo[];
  keyValue: Map<string, string>;
  /** The whole parsed footer: schema elements and column chunk metadata, for decoding pages. */
  metadata: FileMetaData;
  /** Top-level column → why it cannot be read (an encrypted column, an unknown codec, ...); `""` for the whole file. */
  problems: Map<string, StowageError>;
  /** The footer parquet-wasm must be handed instead of the file's own, when the file's would make it fail. */
  wasmFooter: WasmFooter | undefined;
}

const MAGIC = 0x31524150; // "PAR1"

function notParquet(source: RangeSource, why: string): StowageError {
  return new StowageError({ code: "InvalidInput", operation: "read", path: source.path, message: `${source.path} is not a Parquet file (${why})` });
}

export async function readFooter(source: RangeSource): Promise<Footer> {
  if (source.size < 12) throw notParquet(source, `${source.size} bytes`);
  let tail = await source.tail();
  const view = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = view(tail.bytes);
  const magic = end.getUint32(tail.bytes.length - 4, true);
  if (isEncryptedMagic(magic)) throw encryptedFile(source.path, "encrypted footer");
  if (magic !== MAGIC) throw notParquet(source, "no PAR1 magic at the end");
  const metadataLength = end.getUint32(tail.bytes.length - 8, true);
  if (metadataLength + 8 > source.size) throw notParquet(source, "footer longer than the file");
  if (metadataLength + 8 > tail.bytes.length) tail = await source.tail(metadataLength + 8);
  const footerBytes = tail.bytes.subarray(tail.bytes.length - metadataLength - 8);
  let metadata: FileMetaData;
  let raw: ThriftStruct;
  try {
    metadata = parquetMetadata(ownArrayBuffer(footerBytes));
    raw = readStruct(footerBytes.subarray(0, metadataLength));
  } catch (error) {
    throw notParquet(source, (error as Error).message);
  }
  checkFile(raw, source.path);
  const footerStart = source.size - metadataLength - 8;
  const problems = columnProblems(raw, source.path, footerStart);
  const leaves = topLevelLeaves(metadata.schema);
  return {
    rows: Number(metadata.num_rows),
    rowGroups: metadata.row_groups.map((group, index) => ({
      index,
      rows: Number(group.num_rows),
      stats: statsOf(group.columns, leaves),
      chunks: chunksOf(group.columns),
    })),
    keyValue: new Map((metadata.key_value_metadata ?? []).map((kv) => [kv.key, kv.value ?? ""])),
    metadata,
    problems,
    wasmFooter: wasmFooter(raw, footerStart),
  };
}

/** Top-level columns that are not nested, by name. */
function topLevelLeaves(schema: SchemaElement[]): Map<string, SchemaElement> {
  const leaves = new Map<string, SchemaElement>();
  const skip = (at: number): number => {
    let next = at + 1;
    for (let i = 0; i < (schema[at]?.num_children ?? 0); i++) next = skip(next);
    return next;
  };
  for (let i = 0, at = 1; i < (schema[0]?.num_children ?? 0) && at < schema.length; i++, at = skip(at)) {
    if (schema[at]!.num_children === undefined) leaves.set(schema[at]!.name, schema[at]!);
  }
  return leaves;
}

function chunksOf(columns: FileMetaData["row_groups"][number]["columns"]): Map<string, ByteSpan[]> {
  const chunks = new Map<string, ByteSpan[]>();
  for (const column of columns) {
    const meta = column.meta_data;
    if (!meta) continue;
    // A chunk starts at its dictionary page when it has one (some writers store 0 for "none").
    const dictionary = meta.dictionary_page_offset ? Number(meta.dictionary_page_offset) : Infinity;
    const start = Math.min(dictionary, Number(meta.data_page_offset));
    const spans = chunks.get(meta.path_in_schema[0]!) ?? chunks.set(meta.path_in_schema[0]!, []).get(meta.path_in_schema[0]!)!;
    spans.push({ start, end: start + Number(meta.total_compressed_size) });
  }
  return chunks;
}

/**
 * Whether a column's min/max can prune: not when either is NaN (no comparison with NaN holds), nor for
 * types whose statistics come back inexact or as bytes (decimals as floats, INT96, fixed-length
 * byte arrays, intervals).
 */
function trustedBounds(min: unknown, max: unknown, physical: string, element: SchemaElement | undefined): boolean {
  if (min === undefined || max === undefined) return false;
  if (Number.isNaN(min) || Number.isNaN(max)) return false;
  if (physical === "INT96" || physical === "FIXED_LEN_BYTE_ARRAY") return false;
  return element?.converted_type !== "DECIMAL" && element?.logical_type?.type !== "DECIMAL" && element?.converted_type !== "INTERVAL";
}

function statsOf(columns: FileMetaData["row_groups"][number]["columns"], leaves: Map<string, SchemaElement>): Map<string, ColumnStats> {
  const stats = new Map<string, ColumnStats>();
  for (const column of columns) {
    const meta = column.meta_data;
    if (!meta || meta.path_in_schema.length !== 1 || !meta.statistics) continue;
    const s = meta.statistics;
    const entry: ColumnStats = {};
    // The legacy min/max of byte arrays were compared as signed bytes by old writers: not trusted.
    const min = s.min_value ?? (typeof s.min === "string" ? undefined : s.min);
    const max = s.max_value ?? (typeof s.max === "string" ? undefined : s.max);
    if (trustedBounds(min, max, meta.type, leaves.get(meta.path_in_schema[0]!))) {
      entry.min = min;
      entry.max = max;
    }
    if (s.null_count !== undefined) entry.nullCount = Number(s.null_count);
    stats.set(meta.path_in_schema[0]!, entry);
  }
  return stats;
}
