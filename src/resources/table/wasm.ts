/**
 * parquet-wasm on this thread, loaded on first use (its 5 MB WebAssembly module is compiled at
 * import), plus the conversion of its record batches into Arrow JS ones, through Arrow IPC.
 * (Whole-table reads and writes run parquet-wasm in the wasm pool's workers.)
 */
import { type RecordBatch, RecordBatchReader } from "apache-arrow";
import type { RecordBatch as WasmRecordBatch } from "parquet-wasm/node";

export type ParquetWasm = typeof import("parquet-wasm/node");

let loading: Promise<ParquetWasm> | undefined;

export function parquetWasm(): Promise<ParquetWasm> {
  loading ??= import("parquet-wasm/node");
  return loading;
}

/** parquet-wasm batch → Arrow JS batches; the WASM batch is freed. */
export function fromWasmBatch(batch: WasmRecordBatch): RecordBatch[] {
  return RecordBatchReader.from(batch.intoIPCStream()).readAll();
}
