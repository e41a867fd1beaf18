/**
 * Decoding threads for whole-table reads. The JavaScript decoders run on the thread that calls
 * them; a read of many row groups is mostly that decoding (zstd runs on libuv's pool already), so
 * it kept one core busy and left the others mostly idle. Here row groups also go to worker
 * threads (worker.ts): the chunks' bytes by transfer in, the columns' buffers by transfer out, no
 * copy either way. The caller decodes a row group itself when every worker has enough queued, or
 * while the workers start (tens of ms), so a read never waits for them.
 *
 * Workers start when a read asks for them, are `unref`ed while idle (they never keep a process
 * alive) and end after a few idle seconds. Where the worker's module is not beside this one (a
 * bundle) or a worker fails to start, nothing is started again and every row group is decoded by
 * the caller, as before.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { DecodedColumn, Physical } from "./column.js";
import { workerSource } from "./worker-source.js";

export interface DecodeTask {
  id: number;
  rows: number;
  /** The bytes read, transferred (and handed back in the reply for reuse). */
  buffers: ArrayBuffer[];
  chunks: { physical: Physical; optional: boolean; codec: string; buffer: number; start: number; end: number }[];
}

export type DecodeReply = { id: number; buffers: ArrayBuffer[] } & ({ columns: DecodedColumn[]; error?: undefined } | { error: string; columns?: undefined });

/** Row groups sent to one worker before it has finished any: one decoding, one waiting, so it never idles on this thread. */
const DEPTH = 2;
const IDLE_MS = 3_000;

/** Decoding workers: all cores but the caller's, which decodes too (`STOWAGE_DECODE_THREADS` sets the number, 0 for none). */
function workerCount(): number {
  const set = process.env.STOWAGE_DECODE_THREADS;
  if (set !== undefined && /^\d+$/.test(set)) return Math.min(Number(set), 16);
  return Math.max(1, Math.min(3, availableParallelism() - 1));
}

interface Pending {
  resolve(reply: DecodeReply): void;
  reject(error: Error): void;
}

class Thread {
  readonly worker: Worker;
  ready = false;
  /** Ended on purpose (idle): its exit is no failure. */
  retired = false;
  readonly pending = new Map<number, Pending>();

  constructor(source: string, onEvent: (thread: Thread, failure?: Error) => void) {
    this.worker = new Worker(source, { eval: true });
    this.worker.unref();
    this.worker.on("message", (message: DecodeReply | { ready: true }) => {
      if ("ready" in message) {
        this.ready = true;
        return onEvent(this);
      }
      const pending = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (this.pending.size === 0) this.worker.unref();
      pending?.resolve(message);
      onEvent(this);
    });
    const fail = (error: Error) => {
      for (const pending of this.pending.values()) pending.reject(error);
      this.pending.clear();
      onEvent(this, error);
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => fail(new Error(`decoding worker exited with code ${code}`)));
  }

  run(task: DecodeTask): Promise<DecodeReply> {
    return new Promise((resolve, reject) => {
      this.pending.set(task.id, { resolve, reject });
      // Referenced while working: a caller awaiting the result must keep the process alive.
      this.worker.ref();
      this.worker.postMessage(task, task.buffers);
    });
  }
}

export class DecodeThreads {
  readonly #threads = new Set<Thread>();
  #broken = false;
  #nextTask = 0;
  #idleTimer: NodeJS.Timeout | undefined;
  /** Row groups handed to the workers so far. */
  sent = 0;

  constructor(readonly size: number) {}

  #starting = false;

  /** Starts the workers (if not running), so they are ready by the time the first bytes are read. */
  start(): void {
    if (this.#broken || this.#starting || this.#threads.size >= this.size) return;
    this.#starting = true;
    void workerSource().then((source) => {
      this.#starting = false;
      if (!source) this.#broken = true;
      while (source && this.#threads.size < this.size) this.#threads.add(new Thread(source, (t, e) => this.#onEvent(t, e)));
      this.#armIdle();
    });
  }

  /** Whether workers are running (or starting): a read may as well use them, whatever its size. */
  get running(): boolean {
    return this.#starting || this.#threads.size > 0;
  }

  /** Whether a started worker has room for a row group now. */
  get hasRoom(): boolean {
    return this.#choose() !== undefined;
  }

  /**
   * Decodes one row group in a worker, or returns undefined when none has room (the caller decodes
   * it). The task's buffers are transferred: they are unusable here once this returns a promise.
   */
  run(task: Omit<DecodeTask, "id">): Promise<DecodeReply> | undefined {
    const thread = this.#choose();
    if (!thread) return undefined;
    clearTimeout(this.#idleTimer);
    this.sent++;
    return thread.run({ ...task, id: this.#nextTask++ });
  }

  #choose(): Thread | undefined {
    let best: Thread | undefined;
    for (const thread of this.#threads) if (thread.ready && thread.pending.size < DEPTH && (!best || thread.pending.size < best.pending.size)) best = thread;
    return best;
  }

  #onEvent(thread: Thread, failure?: Error): void {
    if (failure && !thread.retired) {
      // One that never started will not start next time either.
      if (!thread.ready) this.#broken = true;
      this.#threads.delete(thread);
      void thread.worker.terminate();
    }
    this.#armIdle();
  }

  #armIdle(): void {
    clearTimeout(this.#idleTimer);
    if ([...this.#threads].some((t) => t.pending.size > 0)) return;
    this.#idleTimer = setTimeout(() => {
      for (const thread of [...this.#threads]) {
        if (thread.pending.size > 0) continue;
        thread.retired = true;
        this.#threads.delete(thread);
        void thread.worker.terminate();
      }
    }, IDLE_MS).unref();
  }
}

let shared: DecodeThreads | undefined;

/** The process's decoding workers (none started until `start`), or undefined where none are wanted. */
export function decodeThreads(): DecodeThreads | undefined {
  const size = workerCount();
  if (size === 0) return undefined;
  shared ??= new DecodeThreads(size);
  return shared;
}
