/**
 * Decoding a row group's columns in JavaScript, without parquet-wasm, where every wanted column is
 * flat and its type, encodings and codec are ones this decoder knows; `planRowGroup` says so from
 * the footer alone, before any byte is read. Everything else (nested columns, decimals,
 * dictionaries kept as Arrow dictionaries, snappy or LZ4 pages) stays with
 * parquet-wasm, as does any row group this decoder stops on (`NotHandled`).
 *
 * Why: parquet-wasm's zstd runs at a sixth of native speed, and its output crosses from WebAssembly
 * memory as an Arrow IPC stream that is copied again on the way out. Here pages are decompressed
 * natively on the thread pool and decoded straight into the Arrow JS buffers the result uses.
 */
import { type Data, type DataType, DateUnit, Precision, TimeUnit, Type } from "apache-arrow";
import type { ColumnChunk, SchemaElement } from "hyparquet";
import type { ByteSpan, Footer } from "../footer.js";
import type { Arena } from "./arena.js";
import { toArrowData } from "./arrow-data.js";
import { decodeColumn, type Physical } from "./column.js";
import { type Decompress, decompressorFor } from "./decompress.js";
import { readPages } from "./pages.js";

export { NotHandled } from "./bits.js";

export interface ColumnPlan {
  name: string;
  type: DataType;
  physical: Physical;
  optional: boolean;
  span: ByteSpan;
  /** The chunk's codec as the footer names it (a decoding worker finds its own decompressor by it). */
  codec: string;
  decompress: Decompress;
}

export interface RowGroupPlan {
  rows: number;
  columns: ColumnPlan[];
}

const ENCODINGS = new Set([
  "PLAIN",
  "PLAIN_DICTIONARY",
  "RLE",
  "BIT_PACKED",
  "RLE_DICTIONARY",
  "DELTA_BINARY_PACKED",
  "DELTA_LENGTH_BYTE_ARRAY",
  "DELTA_BYTE_ARRAY",
  "BYTE_STREAM_SPLIT",
]);

const TIMESTAMP_UNITS: Record<string, TimeUnit> = {
  MILLIS: TimeUnit.MILLISECOND,
  MICROS: TimeUnit.MICROSECOND,
  NANOS: TimeUnit.NANOSECOND,
  TIMESTAMP_MILLIS: TimeUnit.MILLISECOND,
  TIMESTAMP_MICROS: TimeUnit.MICROSECOND,
};

/** The physical type an Arrow type is read from here, if this decoder produces that Arrow type exactly. */
function physicalFor(type: DataType, element: SchemaElement): Physical | undefined {
  switch (type.typeId) {
    case Type.Int:
      return (type as unknown as { bitWidth: number }).bitWidth === 64 ? "INT64" : "INT32";
    case Type.Float: {
      const precision = (type as unknown as { precision: Precision }).precision;
      return precision === Precision.SINGLE ? "FLOAT" : precision === Precision.DOUBLE ? "DOUBLE" : undefined;
    }
    case Type.Utf8:
    case Type.Binary:
      return "BYTE_ARRAY";
    case Type.Bool:
      return "BOOLEAN";
    case Type.Timestamp: {
      const logical = element.logical_type?.type === "TIMESTAMP" ? element.logical_type.unit : element.converted_type;
      return logical !== undefined && TIMESTAMP_UNITS[logical] === (type as unknown as { unit: TimeUnit }).unit ? "INT64" : undefined;
    }
    case Type.Date:
      return (type as unknown as { unit: DateUnit }).unit === DateUnit.DAY ? "INT32" : undefined;
    default:
      return undefined;
  }
}

const leavesByFooter = new WeakMap<Footer, Map<string, SchemaElement>>();

/** Top-level columns that are leaves (not groups), by name. */
function topLevelLeaves(footer: Footer): Map<string, SchemaElement> {
  let leaves = leavesByFooter.get(footer);
  if (leaves) return leaves;
  leaves = new Map();
  const schema = footer.metadata.schema;
  const skip = (at: number): number => {
    const children = schema[at]?.num_children ?? 0;
    let next = at + 1;
    for (let i = 0; i < children; i++) next = skip(next);
    return next;
  };
  let at = 1;
  for (let i = 0; i < (schema[0]?.num_children ?? 0); i++) {
    const element = schema[at]!;
    if (element.num_children === undefined) leaves.set(element.name, element);
    at = skip(at);
  }
  leavesByFooter.set(footer, leaves);
  return leaves;
}

export async function planRowGroup(footer: Footer, rowGroup: number, columns: readonly { name: string; type: DataType }[]): Promise<RowGroupPlan | undefined> {
  const group = footer.metadata.row_groups[rowGroup];
  if (!group) return undefined;
  const leaves = topLevelLeaves(footer);
  const plans: ColumnPlan[] = [];
  for (const { name, type } of columns) {
    const element = leaves.get(name);
    const chunk = group.columns.find((c: ColumnChunk) => c.meta_data?.path_in_schema.length === 1 && c.meta_data.path_in_schema[0] === name);
    const meta = chunk?.meta_data;
    const spans = footer.rowGroups[rowGroup]?.chunks.get(name);
    if (!element || !meta || chunk.file_path || element.repetition_type === "REPEATED" || spans?.length !== 1) return undefined;
    const physical = physicalFor(type, element);
    if (!physical || physical !== meta.type) return undefined;
    if (!meta.encodings.every((e: string) => ENCODINGS.has(e))) return undefined;
    const decompress = await decompressorFor(meta.codec);
    if (!decompress) return undefined;
    plans.push({ name, type, physical, optional: element.repetition_type === "OPTIONAL", span: spans[0]!, codec: meta.codec, decompress });
  }
  return { rows: Number(group.num_rows), columns: plans };
}

/**
 * The planned columns, decoded. `bytes` gives a column chunk's bytes (already read). Throws
 * `NotHandled` (or another error on a damaged file) when parquet-wasm should take over.
 */
export async function decodeRowGroup(plan: RowGroupPlan, bytes: (span: ByteSpan) => Uint8Array, arena?: Arena): Promise<Map<string, Data>> {
  const decoded = await Promise.all(
    plan.columns.map(async (column) => {
      const pages = await readPages(bytes(column.span), column.decompress);
      return [column.name, toArrowData(column.type, decodeColumn(column.physical, column.optional, pages, plan.rows, arena))] as const;
    }),
  );
  return new Map(decoded);
}
