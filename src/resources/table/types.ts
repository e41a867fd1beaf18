/** The public option and filter types of the Table resource. */
import type { RecordBatch, Schema, Table as ArrowTable } from "apache-arrow";
import type { AddressInput } from "../../address.js";
import type { CredentialsInput } from "../../systems/catalog.js";
import type { System } from "../../systems/contract.js";
import type { Cluster } from "../cluster.js";
import type { Compression } from "../../parquet/writer.js";

/** A plain row: column name → value. */
export type Row = Record<string, unknown>;

/**
 * What a table can be written from. Arrow tables and batches are taken as they are; rows are typed
 * from their values (or from `schema`); DuckDB results and Polars DataFrames are recognised by shape.
 */
export type TableData =
  | ArrowTable
  | RecordBatch
  | readonly RecordBatch[]
  | readonly Row[]
  | Iterable<Row>
  | AsyncIterable<Row>
  | AsyncIterable<RecordBatch>
  | AsyncIterable<ArrowTable>
  | object;

/** Where a table lives: an address, or an already open system with a path in it. */
export type TableLocation = AddressInput | { system: System; path: string };

export interface TableOptions {
  /** The data `write()` (or `save()`) stores. Not needed to read an existing table. */
  data?: TableData;
  /**
   * Where the table lives: a URL ("s3://bucket/ds/x"), a path on `system`, or an address object.
   * Default: a directory under `$XDG_CACHE_HOME/stowage/tables/` (named after `name` when given).
   */
  path?: TableLocation;
  /** The name `save()` records it under: "~/x" or "x" (local registry), "@/x" (team registry). */
  name?: string;
  /** A system name ("s3", "ssh", ...), or a saved cluster's name, for a `path` that is not a URL. */
  system?: string | Cluster;
  /** Create the table's folder before the first write. */
  mkdir?: boolean;
  /** ssh: host, user and port; azure: account; github: server (as for folders and blobs). */
  host?: string;
  user?: string;
  port?: number;
  account?: string;
  server?: string;
  /** Explicit credentials for the table's system, used in memory and never saved. */
  credentials?: CredentialsInput;
  /** Columns whose values name Hive directories (`split=train/`); their values leave the files. */
  partitionCols?: readonly string[];
  /** Free-form JSON metadata stored with the table (manifest and Parquet key-value metadata). */
  metadata?: Record<string, unknown>;
  /** The Arrow schema to build row input with, instead of typing it from the values. */
  schema?: Schema;
}

export type { Compression };

export interface TableWriteOptions {
  /** "overwrite" (default) replaces the table atomically; "append" adds files and rewrites nothing. */
  mode?: "overwrite" | "append";
  /** Parquet codec. Default "zstd". */
  compression?: Compression;
  /** Rows per Parquet row group: the unit of pruning, streaming and sharding. Default 100,000. */
  rowGroupSize?: number;
  /** Rows per file before a partition rolls over to a new file. Default 1,000,000. */
  maxRowsPerFile?: number;
  signal?: AbortSignal;
}

export type FilterOp = "=" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in";
export type FilterValue = string | number | bigint | boolean | Date | null;
/** `[column, op, value]`; `in`/`not in` take an array of values. */
export type FilterClause = readonly [column: string, op: FilterOp, value: FilterValue | readonly FilterValue[]];
/** A list of clauses that must all hold, or a list of such lists of which one must hold (DNF). */
export type Filter = readonly FilterClause[] | readonly (readonly FilterClause[])[];

export type OutputFormat = "arrow" | "rows" | "duckdb" | "polars";

export interface ReadOptions {
  /** Columns to read, in this order. Default: all. */
  columns?: readonly string[];
  /** Rows to keep; partition values and row-group statistics skip what cannot match. */
  filter?: Filter;
  /**
   * Check the CRC-32 of every page read where its writer stored one (as Arrow's `page_checksum_verification`);
   * a page that does not match fails the read with InvalidInput. Default false.
   */
  verifyChecksums?: boolean;
  signal?: AbortSignal;
}

export interface FetchOptions<F extends OutputFormat = OutputFormat> extends ReadOptions {
  /** "arrow" (default): an Arrow Table; "rows": plain objects; "duckdb"/"polars": those libraries' tables. */
  format?: F;
}

export interface StreamOptions<F extends OutputFormat = OutputFormat> extends ReadOptions {
  /** Rows per batch; every batch but the last has exactly this many. Default 1,024. */
  batchSize?: number;
  /** Shuffles row-group order and rows within a window; the same seed gives the same order. */
  shuffleSeed?: number;
  /** Rows mixed together when shuffling. Default 10,000. */
  shuffleBufferSize?: number;
  /** Leave out a last batch shorter than `batchSize`. */
  dropLast?: boolean;
  /** This worker's share: workers 0..count-1 with the same options get disjoint slices covering every row. */
  shard?: { index: number; count: number };
  /** Blocks (a row group, or one shuffle window) decoded ahead of the consumer, so reading overlaps consumption. Default 1. */
  prefetch?: number;
  /** A `position` token from an earlier stream with the same options: continue after it. */
  resumeFrom?: string;
  /** "arrow" (default): RecordBatches; "rows": arrays of plain objects; "duckdb"/"polars" as in fetch. */
  format?: F;
}
