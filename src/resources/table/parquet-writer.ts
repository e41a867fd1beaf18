/**
 * One Parquet file written as a stream: Arrow batches go into parquet-wasm's streaming writer, whose
 * bytes go straight into `system.write`. WASM memory stays at about one row group, and nothing is
 * buffered whole, so files of any size can be written to any system.
 */
import type { RecordBatch } from "apache-arrow";
import { Type } from "apache-arrow";
import type { System } from "../../systems/contract.js";
import { Channel } from "./channel.js";
import type { Compression } from "./types.js";
import { type ParquetWasm, parquetWasm, toWasmBatches } from "./wasm.js";

export interface ParquetSettings {
  compression: Compression;
  rowGroupSize: number;
  /** Columns given dictionary encoding (low-cardinality strings); all others get none. */
  dictionaryColumns: ReadonlySet<string>;
  keyValueMetadata: Map<string, string>;
}

const CODECS = (pw: ParquetWasm): Record<Compression, number> => ({
  zstd: pw.Compression.ZSTD,
  snappy: pw.Compression.SNAPPY,
  gzip: pw.Compression.GZIP,
  brotli: pw.Compression.BROTLI,
  lz4: pw.Compression.LZ4_RAW,
  none: pw.Compression.UNCOMPRESSED,
});

function writerProperties(pw: ParquetWasm, settings: ParquetSettings) {
  let builder = new pw.WriterPropertiesBuilder()
    .setCompression(CODECS(pw)[settings.compression])
    .setMaxRowGroupSize(settings.rowGroupSize)
    .setDictionaryEnabled(false)
    .setStatisticsEnabled(pw.EnabledStatistics.Chunk)
    .setCreatedBy("stowage")
    .setKeyValueMetadata(settings.keyValueMetadata);
  for (const column of settings.dictionaryColumns) builder = builder.setColumnDictionaryEnabled(column, true);
  return builder.build();
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
  readonly #channel = new Channel<unknown>(2);
  readonly #done: Promise<number>;
  readonly #pw: ParquetWasm;

  private constructor(pw: ParquetWasm, system: System, path: string, settings: ParquetSettings, signal: AbortSignal | undefined) {
    this.#pw = pw;
    this.path = path;
    const channel = this.#channel;
    const source = new ReadableStream<unknown>({
      async pull(controller) {
        const next = await channel.receive();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
    });
    this.#done = (async () => {
      const bytes = (await pw.transformParquetStream(source, writerProperties(pw, settings))) as ReadableStream<Uint8Array>;
      const result = await system.write(path, bytes as unknown as AsyncIterable<Uint8Array>, signal ? { signal } : {});
      return result.size;
    })();
    // If the upload fails, the producer must stop waiting on a consumer that is gone.
    this.#done.catch((error: unknown) => channel.fail(error));
  }

  static async open(system: System, path: string, settings: ParquetSettings, signal?: AbortSignal): Promise<ParquetFileWriter> {
    return new ParquetFileWriter(await parquetWasm(), system, path, settings, signal);
  }

  async push(batch: RecordBatch): Promise<void> {
    if (batch.numRows === 0) return;
    for (const wasmBatch of toWasmBatches(this.#pw, batch)) await this.#channel.send(wasmBatch);
    this.rows += batch.numRows;
  }

  /** Ends the file; resolves with its size once the system holds it whole. */
  finish(): Promise<number> {
    this.#channel.close();
    return this.#done;
  }

  /** Abandons the file: the body stream errors, so the system keeps nothing. */
  async abort(error: unknown): Promise<void> {
    this.#channel.fail(error);
    await this.#done.catch(() => {});
  }
}

