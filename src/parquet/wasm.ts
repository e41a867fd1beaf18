/**
 * parquet-wasm on this thread, loaded on first use (its 5 MB WebAssembly module is compiled at
 * import), for schemas and small jobs. (Reads, streams and writes run parquet-wasm in the wasm
 * pools' workers.)
 */

export type ParquetWasm = typeof import("parquet-wasm/node");

let loading: Promise<ParquetWasm> | undefined;

export function parquetWasm(): Promise<ParquetWasm> {
  loading ??= import("parquet-wasm/node");
  return loading;
}
