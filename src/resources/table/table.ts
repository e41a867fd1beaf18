/**
 * `table()`: a Parquet dataset on any system. This module is light; the operations (Arrow,
 * parquet-wasm) load on first use.
 */
import type { Schema, Table as ArrowTable, RecordBatch } from "apache-arrow";
import { StowageError } from "../../errors.js";
import type { ResolvedLocation } from "./location.js";
import type { TableStream } from "./stream.js";
import type { FetchOptions, Filter, OutputFormat, ReadOptions, Row, StreamOptions, TableData, TableLocation, TableOptions, TableWriteOptions } from "./types.js";

type Engine = typeof import("./engine.js");
let engine: Promise<Engine> | undefined;
const loadEngine = () => (engine ??= import("./engine.js"));

/** What `fetch` returns for each format. */
export interface FetchResult {
  arrow: ArrowTable;
  rows: Row[];
  duckdb: unknown;
  polars: unknown;
}

/** What `stream` yields for each format. */
export interface StreamItem {
  arrow: RecordBatch;
  rows: Row[];
  duckdb: unknown;
  polars: unknown;
}

export class Table {
  readonly #options: TableOptions;
  readonly #location: TableLocation;
  #resolved: Promise<ResolvedLocation> | undefined;

  constructor(options: TableOptions = {}) {
    this.#options = options;
    this.#location = options.path ?? "";
  }

  async #where(): Promise<ResolvedLocation> {
    if (!this.#resolved) {
      const [{ resolveLocation }, { defaultPath }] = await Promise.all([import("./location.js"), import("../location.js")]);
      this.#resolved = resolveLocation(this.#location === "" ? defaultPath("file", "tables") : this.#location);
      this.#resolved.catch(() => (this.#resolved = undefined));
    }
    return this.#resolved;
  }

  /** The table's address, e.g. "s3://bucket/ds/bert_preproc". */
  async url(): Promise<string> {
    return (await this.#where()).url;
  }

  /**
   * Stores `data` (given to `table()`). "overwrite" (default) replaces the table atomically for
   * Stowage readers; "append" adds files. A failure leaves the previous table intact.
   */
  async write(options: TableWriteOptions = {}): Promise<this> {
    if (this.#options.data === undefined) {
      throw new StowageError({ code: "InvalidInput", operation: "write", message: "nothing to write: pass `data` to table({ data, path })" });
    }
    const [{ writeTable }, where] = await Promise.all([loadEngine(), this.#where()]);
    await writeTable(where, {
      data: this.#options.data as TableData,
      partitionCols: this.#options.partitionCols,
      metadata: this.#options.metadata,
      schema: this.#options.schema,
      options,
    });
    return this;
  }

  /** The table (or the selected columns and rows) in memory: an Arrow Table unless `format` says otherwise. */
  async fetch<F extends OutputFormat = "arrow">(options: FetchOptions<F> = {}): Promise<FetchResult[F]> {
    const [{ fetchTable }, where] = await Promise.all([loadEngine(), this.#where()]);
    return (await fetchTable(where, options)) as FetchResult[F];
  }

  /**
   * Batches of exactly `batchSize` rows (the last may be shorter unless `dropLast`), with bounded
   * memory. The returned stream's `position` is a token for `resumeFrom`.
   */
  stream<F extends OutputFormat = "arrow">(options: StreamOptions<F> = {}): AsyncIterable<StreamItem[F]> & { readonly position: string | undefined } {
    let inner: TableStream | undefined;
    const self = this;
    return {
      get position() {
        return inner?.position;
      },
      async *[Symbol.asyncIterator]() {
        const [{ streamTable, convert }, where] = await Promise.all([loadEngine(), self.#where()]);
        inner = streamTable(where, options);
        for await (const batch of inner) {
          if ((options.format ?? "arrow") === "arrow") yield batch as StreamItem[F];
          else {
            const { Table: ArrowTableClass } = await import("apache-arrow");
            const converted = await convert(new ArrowTableClass([batch]), options.format);
            yield converted as StreamItem[F];
          }
        }
      },
    };
  }

  /** Rows in the table (matching `filter`); without a filter, read from the manifest or footers only. */
  async count(options: { filter?: Filter; signal?: AbortSignal } = {}): Promise<number> {
    const [{ countRows }, where] = await Promise.all([loadEngine(), this.#where()]);
    return countRows(where, options);
  }

  /** The Arrow schema (partition columns included), with the table's metadata; read from footers only. */
  async schema(): Promise<Schema> {
    const [{ tableSchema }, where] = await Promise.all([loadEngine(), this.#where()]);
    return tableSchema(where);
  }

  /** The metadata given when the table was written. */
  async metadata(): Promise<Record<string, unknown>> {
    const [{ tableMetadata }, where] = await Promise.all([loadEngine(), this.#where()]);
    return tableMetadata(where);
  }

  /** The first `n` rows, reading no more row groups than needed. */
  async head(n = 10, options: ReadOptions = {}): Promise<ArrowTable> {
    const [{ fetchArrow }, where] = await Promise.all([loadEngine(), this.#where()]);
    return fetchArrow(where, { ...options, limit: n });
  }

  /** Copies the table to another place (any system) and returns it there. */
  async to(destination: TableLocation): Promise<Table> {
    const [{ copyTable }, where, { resolveLocation }] = await Promise.all([loadEngine(), this.#where(), import("./location.js")]);
    await copyTable(where, await resolveLocation(destination));
    return new Table({ path: destination });
  }

  async exists(): Promise<boolean> {
    const [{ tableExists }, where] = await Promise.all([loadEngine(), this.#where()]);
    return tableExists(where);
  }

  /** Deletes the table: its manifest first, then its files. */
  async rm(): Promise<void> {
    const [{ removeTable }, where] = await Promise.all([loadEngine(), this.#where()]);
    await removeTable(where);
  }
}

/** A table at `path` (or a fresh local one), optionally with `data` to write. */
export function table(options: TableOptions = {}): Table {
  return new Table(options);
}

