/**
 * parquet-wasm, loaded on first use (its 5 MB WebAssembly module is compiled at import), plus the
 * two conversions between its record batches and Arrow JS ones. Both go through Arrow IPC.
 */
import { type RecordBatch, RecordBatchReader, Table, tableToIPC } from "apache-arrow";
import type { RecordBatch as WasmRecordBatch } from "parquet-wasm/node";

export type ParquetWasm = typeof import("parquet-wasm/node");

let loading: Promise<ParquetWasm> | undefined;

export function parquetWasm(): Promise<ParquetWasm> {
  loading ??= import("parquet-wasm/node");
  return loading;
}

/** Arrow JS batch → parquet-wasm batches (WASM memory; consumed by the writer). */
export function toWasmBatches(pw: ParquetWasm, batch: RecordBatch): WasmRecordBatch[] {
  return pw.Table.fromIPCStream(tableToIPC(new Table([batch]), "stream")).recordBatches();
}

/** parquet-wasm batch → Arrow JS batches; the WASM batch is freed. */
export function fromWasmBatch(batch: WasmRecordBatch): RecordBatch[] {
  return RecordBatchReader.from(batch.intoIPCStream()).readAll();
}
