/**
 * A Parquet file's footer, read with hyparquet's metadata parser from the cached tail: row counts,
 * row-group statistics for pruning, and the key-value metadata. No column data is read.
 */
import { parquetMetadata, type FileMetaData } from "hyparquet";
import { StowageError } from "../errors.js";
import { ownArrayBuffer, type RangeSource } from "./source.js";

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
  if (end.getUint32(tail.bytes.length - 4, true) !== MAGIC) throw notParquet(source, "no PAR1 magic at the end");
  const metadataLength = end.getUint32(tail.bytes.length - 8, true);
  if (metadataLength + 8 > source.size) throw notParquet(source, "footer longer than the file");
  if (metadataLength + 8 > tail.bytes.length) tail = await source.tail(metadataLength + 8);
  const footerBytes = tail.bytes.subarray(tail.bytes.length - metadataLength - 8);
  let metadata: FileMetaData;
  try {
    metadata = parquetMetadata(ownArrayBuffer(footerBytes));
  } catch (error) {
    throw notParquet(source, (error as Error).message);
  }
  return {
    rows: Number(metadata.num_rows),
    rowGroups: metadata.row_groups.map((group, index) => ({
      index,
      rows: Number(group.num_rows),
      stats: statsOf(group.columns),
      chunks: chunksOf(group.columns),
    })),
    keyValue: new Map((metadata.key_value_metadata ?? []).map((kv) => [kv.key, kv.value ?? ""])),
    metadata,
  };
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

function statsOf(columns: FileMetaData["row_groups"][number]["columns"]): Map<string, ColumnStats> {
  const stats = new Map<string, ColumnStats>();
  for (const column of columns) {
    const meta = column.meta_data;
    if (!meta || meta.path_in_schema.length !== 1 || !meta.statistics) continue;
    const s = meta.statistics;
    const entry: ColumnStats = {};
    // The legacy min/max of byte arrays were compared as signed bytes by old writers: not trusted.
    const min = s.min_value ?? (typeof s.min === "string" ? undefined : s.min);
    const max = s.max_value ?? (typeof s.max === "string" ? undefined : s.max);
    if (min !== undefined) entry.min = min;
    if (max !== undefined) entry.max = max;
    if (s.null_count !== undefined) entry.nullCount = Number(s.null_count);
    stats.set(meta.path_in_schema[0]!, entry);
  }
  return stats;
}
