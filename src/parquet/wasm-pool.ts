/**
 * parquet-wasm in worker threads. It runs on one thread, and its work (zstd and page encoding or
 * decoding inside WebAssembly) is most of a whole-table read's or a write's time, so row groups are
 * decoded and encoded in parallel by a small pool of workers, each with its own parquet-wasm.
 *
 * Workers never touch a System: every byte a decoding worker asks for is read here, on the main
 * thread, through the file's RangeSource (so any system works, and errors keep their codes).
 * Bytes cross threads by transfer, not copy: Parquet byte ranges in, Arrow IPC streams out when
 * decoding; Arrow IPC streams in, Parquet bytes out when encoding.
 *
 * Workers start on first use, are `unref`ed while idle (they never keep a process alive) and end
 * after a few idle seconds, which also returns their WebAssembly memory.
 */
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { StowageError } from "../errors.js";
import type { ByteSpan } from "./footer.js";
import { type RangeSource, wholeArrayBuffer } from "./source.js";
import { type WasmFooter, wasmTail } from "./wasm-footer.js";
import type { ColumnEncoding, Compression } from "./writer.js";

export interface DecodeOptions {
  columns: string[];
  rowGroups: number[];
  batchSize: number;
  offset: number;
  limit: number;
}

export interface EncodeSettings {
  compression: Compression;
  rowGroupSize: number;
  dictionaryColumns: readonly string[];
  columnEncodings: Readonly<Record<string, ColumnEncoding>>;
  /** Columns written without the codec (it saved too little on them). */
  uncompressedColumns: readonly string[];
  keyValueMetadata: Map<string, string>;
}

/** The worker, plain CommonJS so it runs the same from TypeScript sources, tests and the build. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const pw = require(workerData.parquetWasm);
const CODECS = { zstd: "ZSTD", snappy: "SNAPPY", gzip: "GZIP", brotli: "BROTLI", lz4: "LZ4_RAW", none: "UNCOMPRESSED" };
const reads = new Map();
let nextRead = 0;

/**
 * Opened files (parquet-wasm parses the footer, ~5 ms here), kept for the next tasks on the same
 * source, which for a whole-table read or a stream is most of them. Their reads go through the
 * task being run.
 */
const opened = new Map();
const KEEP_OPENED = 4;

async function fileFor(task) {
  let entry = opened.get(task.source);
  if (entry) opened.delete(task.source);
  else {
    entry = { task, file: undefined };
    entry.file = await pw.ParquetFile.fromFile(blobOf(entry, 0, task.size));
  }
  entry.task = task;
  opened.set(task.source, entry);
  for (const [source, old] of opened) {
    if (opened.size <= KEEP_OPENED) break;
    opened.delete(source);
    old.file.free();
  }
  return entry.file;
}

function blobOf(entry, start, end) {
  return {
    size: end - start,
    slice: (a = 0, b = end - start) => blobOf(entry, start + a, start + Math.min(b, end - start)),
    arrayBuffer: () => {
      const task = entry.task;
      if (start >= task.tailStart) return Promise.resolve(task.tail.slice(start - task.tailStart, end - task.tailStart).buffer);
      const chunk = task.chunks.find((c) => c.start <= start && end <= c.start + c.bytes.length);
      if (chunk) {
        const whole = start === chunk.start && end === chunk.start + chunk.bytes.length;
        return Promise.resolve(whole ? chunk.bytes.buffer : chunk.bytes.slice(start - chunk.start, end - chunk.start).buffer);
      }
      return new Promise((resolve, reject) => {
        const id = nextRead++;
        reads.set(id, { resolve, reject });
        parentPort.postMessage({ type: "read", task: task.id, read: id, start, end });
      });
    },
  };
}

async function decode(task) {
  const file = await fileFor(task);
  const stream = await file.stream(task.options);
  const streams = [];
  for await (const batch of stream) streams.push(batch.intoIPCStream());
  return streams;
}

function writerProperties(settings) {
  let builder = new pw.WriterPropertiesBuilder()
    .setCompression(pw.Compression[CODECS[settings.compression]])
    .setMaxRowGroupSize(settings.rowGroupSize)
    .setDictionaryEnabled(false)
    .setStatisticsEnabled(pw.EnabledStatistics.Chunk)
    .setCreatedBy("stowage")
    .setKeyValueMetadata(settings.keyValueMetadata);
  for (const column of settings.dictionaryColumns) builder = builder.setColumnDictionaryEnabled(column, true);
  for (const [column, encoding] of Object.entries(settings.columnEncodings)) builder = builder.setColumnEncoding(column, pw.Encoding[encoding]);
  for (const column of settings.uncompressedColumns) builder = builder.setColumnCompression(column, pw.Compression.UNCOMPRESSED);
  return builder.build();
}

async function encode(task) {
  const batches = task.streams.flatMap((ipc) => pw.Table.fromIPCStream(ipc).recordBatches());
  const source = new ReadableStream({ start(controller) { for (const batch of batches) controller.enqueue(batch); controller.close(); } });
  const parts = [];
  for await (const part of await pw.transformParquetStream(source, writerProperties(task.settings))) parts.push(part);
  return [Buffer.concat(parts)];
}

parentPort.on("message", async (message) => {
  if (message.type === "bytes") {
    const pending = reads.get(message.read);
    reads.delete(message.read);
    if (message.bytes) pending.resolve(message.bytes);
    else pending.reject(new Error("read failed"));
    return;
  }
  try {
    const result = await (message.type === "decode" ? decode(message) : encode(message));
    const buffers = result.map((bytes) => (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes)).buffer);
    // A bounded-memory pool's column chunks go back too: this thread's garbage collector runs
    // rarely, and left here they would hold tens of MB until it does. Other pools leave them here,
    // where collecting them is cheap, instead of in the calling thread's much larger heap.
    const spent = message.returnChunks ? message.chunks.map((chunk) => chunk.bytes.buffer).filter((buffer) => buffer.byteLength > 0) : [];
    parentPort.postMessage({ type: "done", task: message.id, result: buffers, spent }, [...buffers, ...spent]);
  } catch (error) {
    parentPort.postMessage({ type: "failed", task: message.id, message: String((error && error.message) || error) });
  }
});
`;

const IDLE_MS = 5_000;

interface Task {
  id: number;
  message: Record<string, unknown>;
  transfer: ArrayBuffer[];
  /** Where a decoding worker's reads are served from. */
  source: RangeSource | undefined;
  resolve: (result: ArrayBuffer[]) => void;
  reject: (error: unknown) => void;
  /** The first read that failed: its error (a StowageError with a code) is the task's error. */
  readError?: unknown;
}

type WorkerMessage =
  | { type: "read"; task: number; read: number; start: number; end: number }
  | { type: "done"; task: number; result: ArrayBuffer[] }
  | { type: "failed"; task: number; message: string };

class PoolWorker {
  readonly worker: Worker;
  task: Task | undefined;

  constructor(parquetWasm: string, onMessage: (self: PoolWorker, message: WorkerMessage) => void, onExit: (self: PoolWorker, error: Error) => void) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { parquetWasm } });
    this.worker.unref();
    this.worker.on("message", (message: WorkerMessage) => onMessage(this, message));
    this.worker.on("error", (error) => onExit(this, error));
    this.worker.on("exit", (code) => onExit(this, new Error(`parquet-wasm worker exited with code ${code}`)));
  }
}

/** The bytes in a transferable ArrayBuffer of their own: a small Buffer lives in Node's shared pool, which must not be detached. */
const transferable = wholeArrayBuffer;

export class WasmPool {
  readonly size: number;
  readonly #parquetWasm = createRequire(import.meta.url).resolve("parquet-wasm/node");
  readonly #workers = new Set<PoolWorker>();
  readonly #queue: Task[] = [];
  readonly #tasks = new Map<number, Task>();
  #nextTask = 0;
  readonly #sourceIds = new WeakMap<RangeSource, number>();
  #nextSource = 0;
  #idleTimer: NodeJS.Timeout | undefined;

  readonly #boundedMemory: boolean;

  /** `boundedMemory`: workers hand every buffer back as soon as they are done with it. */
  constructor(size: number, { boundedMemory = false } = {}) {
    this.size = size;
    this.#boundedMemory = boundedMemory;
  }

  /**
   * Decodes row groups of one file; resolves with one Arrow IPC stream per record batch. The byte
   * spans given (the column chunks it will need) are read here before the task is queued, so a
   * worker decodes without waiting on this thread; any other range it asks for is read on demand.
   * `repair`: the footer parquet-wasm reads instead of the file's own (footer.ts `wasmFooter`).
   */
  async decode(source: RangeSource, options: DecodeOptions, spans: readonly ByteSpan[] = [], repair?: WasmFooter): Promise<Uint8Array[]> {
    const [fileTail, chunks] = await Promise.all([
      source.tail(),
      Promise.all(spans.map(async (span) => ({ start: span.start, buffer: transferable(await source.read(span.start, span.end)) }))),
    ]);
    const chunkBytes = chunks.map((c) => ({ start: c.start, bytes: new Uint8Array(c.buffer) }));
    const tail = wasmTail(fileTail, source.size, repair);
    const message = {
      type: "decode",
      source: this.#sourceId(source),
      size: tail.size,
      tail: tail.bytes,
      tailStart: tail.start,
      chunks: chunkBytes,
      returnChunks: this.#boundedMemory,
      options,
    };
    const result = await this.#run(
      message,
      chunks.map((c) => c.buffer),
      source,
    );
    return result.map((buffer) => new Uint8Array(buffer));
  }

  /** Encodes record batches (one Arrow IPC stream each; the buffers are transferred) as a whole Parquet file. */
  async encode(streams: Uint8Array[], settings: EncodeSettings): Promise<Uint8Array> {
    const buffers = streams.map(transferable);
    const [file] = await this.#run({ type: "encode", streams: buffers.map((b) => new Uint8Array(b)), settings }, buffers, undefined);
    return new Uint8Array(file!);
  }

  /** Identifies a source to the workers, which keep files they opened for the source's next tasks. */
  #sourceId(source: RangeSource): number {
    let id = this.#sourceIds.get(source);
    if (id === undefined) this.#sourceIds.set(source, (id = this.#nextSource++));
    return id;
  }

  #run(message: Record<string, unknown>, transfer: ArrayBuffer[], source: RangeSource | undefined): Promise<ArrayBuffer[]> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ id: this.#nextTask++, message, transfer, source, resolve, reject });
      this.#dispatch();
    });
  }

  #addWorker(): PoolWorker {
    const worker = new PoolWorker(
      this.#parquetWasm,
      (w, m) => this.#onMessage(w, m),
      (w, e) => this.#onExit(w, e),
    );
    this.#workers.add(worker);
    return worker;
  }

  #dispatch(): void {
    clearTimeout(this.#idleTimer);
    for (const worker of this.#workers) {
      if (this.#queue.length === 0) break;
      if (!worker.task) this.#start(worker, this.#queue.shift()!);
    }
    while (this.#queue.length > 0 && this.#workers.size < this.size) this.#start(this.#addWorker(), this.#queue.shift()!);
    if (this.#queue.length === 0 && [...this.#workers].every((w) => !w.task)) {
      this.#idleTimer = setTimeout(() => void this.endIdle(), IDLE_MS).unref();
    }
  }

  #start(worker: PoolWorker, task: Task): void {
    worker.task = task;
    this.#tasks.set(task.id, task);
    // Referenced while working: a caller awaiting the result must keep the process alive.
    worker.worker.ref();
    worker.worker.postMessage({ ...task.message, id: task.id }, task.transfer);
  }

  #onMessage(worker: PoolWorker, message: WorkerMessage): void {
    const task = this.#tasks.get(message.task);
    if (!task) return;
    if (message.type === "read") {
      this.#serveRead(worker, task, message);
      return;
    }
    this.#tasks.delete(task.id);
    worker.task = undefined;
    worker.worker.unref();
    // A WebAssembly instance that failed (a Rust panic, say) may be left broken: replaced, not reused.
    if (message.type === "failed") void this.#retire(worker);
    this.#dispatch();
    if (message.type === "done") task.resolve(message.result);
    else task.reject(task.readError ?? wasmFailure(task, message.message));
  }

  #serveRead(worker: PoolWorker, task: Task, message: { read: number; start: number; end: number }): void {
    task.source!.read(message.start, message.end).then(
      (bytes) => {
        const buffer = transferable(bytes);
        worker.worker.postMessage({ type: "bytes", read: message.read, bytes: buffer }, [buffer]);
      },
      (error: unknown) => {
        task.readError ??= error;
        worker.worker.postMessage({ type: "bytes", read: message.read });
      },
    );
  }

  #onExit(worker: PoolWorker, error: Error): void {
    if (!this.#workers.delete(worker)) return;
    const task = worker.task;
    worker.task = undefined;
    if (task) {
      this.#tasks.delete(task.id);
      // A failed read makes parquet-wasm panic, which ends the worker: the read's error is the cause.
      task.reject(task.readError ?? wasmFailure(task, error.message, error));
    }
    this.#dispatch();
  }

  #retire(worker: PoolWorker): Promise<number> {
    this.#workers.delete(worker);
    return worker.worker.terminate();
  }

  /** Ends the workers that have nothing to do (their memory is returned once this resolves). */
  async endIdle(): Promise<void> {
    await Promise.all([...this.#workers].filter((w) => !w.task).map((w) => this.#retire(w)));
  }
}

/**
 * parquet-wasm's own failure as a StowageError: a file it cannot decode (a corrupt page, a layout it
 * does not take, a trap in its decoder) is the file's problem, named with its path, never an untyped
 * error; a failed encode is Stowage's.
 */
function wasmFailure(task: Task, detail: string, cause?: Error): StowageError {
  if (task.message.type === "decode") {
    const path = task.source?.path;
    const columns = (task.message.options as DecodeOptions | undefined)?.columns ?? [];
    return new StowageError({
      code: "InvalidInput",
      operation: "read",
      retryable: false,
      ...(path === undefined ? {} : { path }),
      message: `${path ?? "a Parquet file"} cannot be decoded (column${columns.length === 1 ? "" : "s"} ${columns.join(", ")}; parquet-wasm: ${detail})`,
      ...(cause ? { cause } : {}),
    });
  }
  return new StowageError({
    code: "Unexpected",
    operation: "write",
    message: `parquet-wasm could not encode a row group: ${detail}`,
    ...(cause ? { cause } : {}),
  });
}

let shared: WasmPool | undefined;
let streaming: WasmPool | undefined;

/** The process-wide pool: one worker per core, at most four. */
export function wasmPool(): WasmPool {
  shared ??= new WasmPool(Math.max(1, Math.min(4, availableParallelism())));
  return shared;
}

/**
 * The pool streams decode in: a single worker, so a stream's memory is one parquet-wasm instance
 * and the row groups queued ahead, while this thread stays free to hand out batches.
 */
export function streamPool(): WasmPool {
  streaming ??= new WasmPool(1, { boundedMemory: true });
  return streaming;
}
