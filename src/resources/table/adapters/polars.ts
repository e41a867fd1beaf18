/**
 * nodejs-polars ↔ Arrow, through Arrow IPC both ways (the lossless path: Polars' JS accessors fail
 * on Binary and Decimal). Polars strings arrive as LargeUtf8 and are kept so.
 */
import { type RecordBatch, RecordBatchReader, type Table, tableToIPC } from "apache-arrow";
import { loadOptional } from "./optional.js";

interface PolarsFrame {
  writeIPCStream(): Buffer;
  height: number;
  columns: string[];
}

interface PolarsModule {
  readIPCStream(buffer: Buffer): unknown;
}

export function isPolarsFrame(value: unknown): value is PolarsFrame {
  const frame = value as PolarsFrame | null;
  return typeof frame?.writeIPCStream === "function" && Array.isArray(frame.columns);
}

export async function* batchesFromPolars(frame: PolarsFrame): AsyncGenerator<RecordBatch> {
  yield* RecordBatchReader.from(frame.writeIPCStream());
}

/** An Arrow table as a Polars DataFrame. */
export async function toPolars(table: Table): Promise<unknown> {
  const pl = await loadOptional<PolarsModule>(
    "nodejs-polars",
    `nodejs-polars nodejs-polars-${process.platform}-${process.arch}${process.platform === "linux" ? "-gnu" : ""}`,
    "the polars format",
  );
  return pl.readIPCStream(Buffer.from(tableToIPC(table, "stream")));
}
