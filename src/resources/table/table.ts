/**
 * `table()`: a Parquet dataset on any system. This module is light; the operations (Arrow,
 * parquet-wasm) load on first use.
 */
import type { Schema, Table as ArrowTable, RecordBatch } from "apache-arrow";
import { type Address } from "../../address.js";
import { formatAddress, parseAddress } from "../../systems/addresses.js";
import { StowageError } from "../../errors.js";
import { savedAddress, type RecordBody } from "../../registry/index.js";
import type { System } from "../../systems/contract.js";
import { writable } from "../../systems/extensions.js";
import { RESOURCE_OPTIONS, addressFromInit, checkOptions, type ResourceInit } from "../location.js";
import { historyOf, loadAs, saveResource, type HistoryEntry, type Nameable, type SaveOptions } from "../named.js";
import type { ResolvedLocation } from "./location.js";
import type { TableStream } from "./stream.js";
import type { FetchOptions, Filter, OutputFormat, ReadOptions, Row, StreamOptions, TableLocation, TableOptions, TableWriteOptions } from "./types.js";

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

const TABLE_OPTIONS = [...RESOURCE_OPTIONS, "data", "partitionCols", "metadata", "schema"];

function isOpenSystem(location: unknown): location is { system: System; path: string } {
  return typeof location === "object" && location !== null && typeof (location as { system?: unknown }).system === "object" && !(location instanceof URL);
}

/** A table's address from its options; `path` may also be an address object. */
function tableAddress(options: TableOptions): Address {
  const { path } = options;
  if (typeof path === "object" && path !== null && !(path instanceof URL)) {
    const given = path as Partial<Address> & { system: string };
    if (options.system !== undefined && typeof options.system === "string" && options.system !== given.system) {
      const url = formatAddress(parseAddress(given));
      throw new StowageError({ code: "InvalidInput", message: `system "${options.system}" contradicts the path's address ${url}` });
    }
    const { system, path: inner, ...fields } = given;
    return addressFromInit(
      { ...(options as ResourceInit), ...fields, system, path: formatAddress(parseAddress({ ...fields, system, path: inner ?? "/" })) },
      "tables",
    );
  }
  return addressFromInit(options as ResourceInit, "tables");
}

export class Table implements Nameable {
  readonly resourceType = "table" as const;
  readonly #options: TableOptions;
  /** Where the table lives; undefined only for a table on an already open system. */
  readonly address: Address | undefined;
  readonly #openLocation: { system: System; path: string } | undefined;
  #resolved: Promise<ResolvedLocation> | undefined;
  #written = false;
  name: string | undefined;
  version: number | undefined;

  constructor(options: TableOptions = {}) {
    if (typeof options !== "object" || options === null)
      throw new StowageError({ code: "InvalidInput", message: "table() takes options: { data, path, name, ... }" });
    checkOptions(options, TABLE_OPTIONS, "table()");
    this.#options = options;
    this.name = options.name;
    if (isOpenSystem(options.path)) {
      if (options.system !== undefined) throw new StowageError({ code: "InvalidInput", message: "system cannot be given with an open system as the path" });
      this.#openLocation = options.path;
      this.address = undefined;
    } else {
      this.#openLocation = undefined;
      this.address = tableAddress(options);
    }
  }

  /** The table saved under `name` (`"@/bert_tokenized"`, `"~/ds/x@3"`). */
  static fromName(name: string): Promise<Table> {
    return loadAs<Table>(name, "table");
  }

  async #where(): Promise<ResolvedLocation> {
    if (!this.#resolved) {
      const { resolveLocation } = await import("./location.js");
      this.#resolved = resolveLocation(this.#openLocation ?? this.address!);
      this.#resolved.catch(() => (this.#resolved = undefined));
    }
    return this.#resolved;
  }

  /** The table's address, e.g. "s3://bucket/ds/bert_preproc". */
  async url(): Promise<string> {
    return this.address ? formatAddress(this.address) : (await this.#where()).url;
  }

  /**
   * Records the table under `name` (default: its own) as a new version, with its schema, row count
   * and metadata, after writing `data` if it was given and never written.
   */
  async save(name?: string, options: SaveOptions = {}): Promise<this> {
    if (!this.address)
      throw new StowageError({
        code: "Unsupported",
        operation: "save",
        message: "a table on an already open system has no address to save; give it a URL or { system, path }",
      });
    await saveResource(this, name, options);
    return this;
  }

  /** Every saved version of the table's name, oldest first. */
  history(): Promise<HistoryEntry[]> {
    return historyOf(this);
  }

  async writePending(): Promise<void> {
    if (this.#options.data !== undefined && !this.#written) await this.write();
  }

  async recordBody(): Promise<RecordBody> {
    const [schema, rows, metadata] = await Promise.all([this.schema(), this.count(), this.metadata()]);
    const partitionCols = this.#options.partitionCols;
    return {
      type: "table",
      address: savedAddress(this.address!),
      url: formatAddress(this.address!),
      ...(partitionCols && partitionCols.length > 0 ? { options: { partitionCols: [...partitionCols] } } : {}),
      table: {
        schema: schema.fields.map((field) => ({ name: field.name, type: String(field.type), nullable: field.nullable })),
        rows,
        metadata,
      },
    };
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
    const system = writable(where.system, "write", where.root);
    if (this.#options.mkdir) await system.mkdir(where.root);
    await writeTable(
      { system, root: where.root },
      {
        data: this.#options.data,
        partitionCols: this.#options.partitionCols,
        metadata: this.#options.metadata,
        schema: this.#options.schema,
        options,
      },
    );
    this.#written = true;
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
    const locate = () => this.#where();
    return {
      get position() {
        return inner?.position;
      },
      async *[Symbol.asyncIterator]() {
        const [{ streamTable, convert }, where] = await Promise.all([loadEngine(), locate()]);
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
