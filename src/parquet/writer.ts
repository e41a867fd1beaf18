/**
 * One Parquet file written as a stream. Batches are cut into row groups; each row group is encoded
 * by a worker of the wasm pool (several at once), and the encoded groups are assembled in order
 * into one file whose bytes go straight into `system.write`. Memory stays at a few row groups, and
 * nothing is buffered whole, so files of any size can be written to any system.
 */
import { type Float, Precision, type RecordBatch, Table, tableToIPC, Type } from "apache-arrow";
import { Channel } from "./channel.js";
import type { ColumnCodecs } from "./column-codecs.js";
import { ParquetAssembler } from "./assembler.js";
import { wasmPool } from "./wasm-pool.js";

export type Compression = "zstd" | "snappy" | "gzip" | "brotli" | "lz4" | "none";

/**
 * Where a file's bytes go: stores the whole body and resolves with its size; if the body fails, it
 * fails and stores nothing (a System's atomic write does both).
 */
export type ParquetSink = (body: AsyncIterable<Uint8Array>) => Promise<number>;

export interface ParquetSettings {
  compression: Compression;
  rowGroupSize: number;
  /** Columns given dictionary encoding (low-cardinality strings); all others get none. */
  dictionaryColumns: ReadonlySet<string>;
  /** Columns given an encoding other than PLAIN (see chooseColumnEncodings). */
  columnEncodings: Readonly<Record<string, ColumnEncoding>>;
  /** Learns from the write's first row group which columns to leave uncompressed; shared by its files. */
  codecs: ColumnCodecs;
  keyValueMetadata: Map<string, string>;
}

export type ColumnEncoding = "DELTA_BINARY_PACKED" | "BYTE_STREAM_SPLIT" | "DELTA_LENGTH_BYTE_ARRAY";

const DELTA_TYPES = new Set([Type.Int, Type.Date, Type.Time, Type.Timestamp, Type.Duration]);
const BYTE_ARRAY_TYPES = new Set([Type.Utf8, Type.LargeUtf8, Type.Binary, Type.LargeBinary]);

/**
 * Encodings that shrink what zstd (the bulk of the write time) has to compress, decided per
 * top-level column from a sample of the first batch:
 * - ids, timestamps and sequence numbers are usually sorted: their small deltas bit-pack to a
 *   fraction of the PLAIN bytes (DELTA_BINARY_PACKED);
 * - floats compress poorly as whole values but well once their bytes are split into streams (the
 *   exponent bytes repeat): BYTE_STREAM_SPLIT made random float columns ~16% smaller here, and no
 *   slower to write or read;
 * - strings and binaries keep their lengths apart from their bytes (DELTA_LENGTH_BYTE_ARRAY): the
 *   lengths bit-pack, the bytes compress as one run, and parquet-wasm decodes the column ~30%
 *   faster than PLAIN (which interleaves a 4-byte length with every value). With a dictionary
 *   (few distinct values) it is only the fallback encoding.
 * DuckDB, Polars and pyarrow read all three. Spark's vectorized reader reads the delta encodings
 * from 3.3 (a column of DELTA_LENGTH_BYTE_ARRAY alone from 3.4, SPARK-40128).
 */
export function chooseColumnEncodings(batch: RecordBatch, sampleSize = 10_000): Record<string, ColumnEncoding> {
  const chosen: Record<string, ColumnEncoding> = {};
  for (const field of batch.schema.fields) {
    // Half floats are stored as fixed-length byte arrays, which older readers cannot byte-split.
    if (field.type.typeId === Type.Float && (field.type as Float).precision !== Precision.HALF) chosen[field.name] = "BYTE_STREAM_SPLIT";
    if (BYTE_ARRAY_TYPES.has(field.type.typeId)) chosen[field.name] = "DELTA_LENGTH_BYTE_ARRAY";
    if (!DELTA_TYPES.has(field.type.typeId)) continue;
    const data = batch.getChild(field.name)!.data[0];
    // A stride of 2 would be a 64-bit value split into two 32-bit words: not comparable as is.
    if (!data || data.nullCount > 0 || data.length < 2 || data.stride !== 1) continue;
    const values = data.values as ArrayLike<number | bigint>;
    const n = Math.min(data.length, sampleSize);
    let sorted = true;
    for (let i = 1; i < n && sorted; i++) sorted = values[i]! >= values[i - 1]!;
    if (sorted) chosen[field.name] = "DELTA_BINARY_PACKED";
  }
  return chosen;
}

/**
 * Dictionary encoding pays off on strings with few distinct values and slows everything else
 * (tables.md §3.2): decide per top-level string column from a sample of the first batch.
 */
export function chooseDictionaryColumns(batch: RecordBatch, sampleSize = 10_000): Set<string> {
  const chosen = new Set<string>();
  for (const field of batch.schema.fields) {
    if (field.type.typeId === Type.Dictionary) chosen.add(field.name);
    if (field.type.typeId !== Type.Utf8 && field.type.typeId !== Type.LargeUtf8) continue;
    const vector = batch.getChild(field.name)!;
    const n = Math.min(vector.length, sampleSize);
    const distinct = new Set<unknown>();
    for (let i = 0; i < n; i++) distinct.add(vector.get(i));
    if (n > 0 && distinct.size <= Math.max(16, n / 20)) chosen.add(field.name);
  }
  return chosen;
}

export class ParquetFileWriter {
  readonly path: string;
  rows = 0;
  readonly #settings: ParquetSettings;
  readonly #channel = new Channel<Uint8Array>(4);
  readonly #done: Promise<number>;
  readonly #assembler = new ParquetAssembler();
  /** Rows not yet in a row group. */
  #pending: RecordBatch[] = [];
  #pendingRows = 0;
  /** Row groups being encoded, in file order. */
  readonly #encoding: Promise<Uint8Array>[] = [];

  constructor(sink: ParquetSink, path: string, settings: ParquetSettings) {
    this.path = path;
    this.#settings = settings;
    const channel = this.#channel;
    const body = (async function* () {
      for (let next = await channel.receive(); !next.done; next = await channel.receive()) yield next.value;
    })();
    this.#done = sink(body);
    // If the upload fails, the producer must stop waiting on a consumer that is gone.
    this.#done.catch((error: unknown) => channel.fail(error));
  }

  async push(batch: RecordBatch): Promise<void> {
    if (batch.numRows === 0) return;
    this.#pending.push(batch);
    this.#pendingRows += batch.numRows;
    this.rows += batch.numRows;
    while (this.#pendingRows >= this.#settings.rowGroupSize) await this.#cut(this.#settings.rowGroupSize);
  }

  /** Sends the first `rows` pending rows to be encoded as a row group; waits while enough are in flight. */
  async #cut(rows: number): Promise<void> {
    const group: RecordBatch[] = [];
    let taken = 0;
    while (taken < rows) {
      const batch = this.#pending.shift()!;
      const wanted = rows - taken;
      if (batch.numRows > wanted) {
        group.push(batch.slice(0, wanted));
        this.#pending.unshift(batch.slice(wanted));
      } else group.push(batch);
      taken += Math.min(batch.numRows, wanted);
    }
    this.#pendingRows -= rows;
    const pool = wasmPool();
    // One IPC stream per batch: batches may carry different dictionaries.
    const settings = this.#settings;
    const encoded = pool.encode(
      group.map((batch) => tableToIPC(new Table([batch]), "stream")),
      {
        compression: settings.compression,
        rowGroupSize: settings.rowGroupSize,
        dictionaryColumns: [...settings.dictionaryColumns],
        columnEncodings: settings.columnEncodings,
        uncompressedColumns: settings.codecs.uncompressed,
        keyValueMetadata: settings.keyValueMetadata,
      },
    );
    encoded.catch(() => {}); // awaited in order below, or dropped by abort()
    this.#encoding.push(encoded);
    while (this.#encoding.length > pool.size) await this.#writeNext();
  }

  async #writeNext(): Promise<void> {
    const part = await this.#encoding.shift()!;
    this.#settings.codecs.learnFrom(part);
    for (const chunk of this.#assembler.add(part)) await this.#channel.send(chunk);
  }

  /** Ends the file; resolves with its size once the system holds it whole. */
  async finish(): Promise<number> {
    if (this.#pendingRows > 0) await this.#cut(this.#pendingRows);
    while (this.#encoding.length > 0) await this.#writeNext();
    for (const chunk of this.#assembler.finish()) await this.#channel.send(chunk);
    this.#channel.close();
    return this.#done;
  }

  /** Abandons the file: the body stream errors, so the system keeps nothing. */
  async abort(error: unknown): Promise<void> {
    this.#channel.fail(error);
    await this.#done.catch(() => {});
  }
}
