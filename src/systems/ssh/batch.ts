/**
 * Batch uploads of small files. A file per SFTP write costs four requests (open, write, close,
 * rename) that sftp-server answers one at a time. A batch instead travels as one tar archive,
 * written over SFTP into a hidden staging directory beside its targets; a shell loop on the host
 * unpacks it there with the host's tar; then each staged file is renamed onto its target over
 * SFTP (pipelined, one request per file), so each target still appears whole or not at all.
 *
 * The loop runs for the life of the connection and takes one staging directory per line: one
 * exec per batch would start the login shell each time, and a shell rc file that sets up pyenv or
 * conda costs 100-300 ms of the host's CPU per start.
 */
import type { Client, ClientChannel } from "ssh2";
import { StowageError } from "../../errors.js";
import { PART_SUFFIX } from "../partial.js";
import { childPath } from "./tree.js";

/** The name of a staged member: its index in the batch. */
export const stagedName = (index: number) => String(index);

/** The archive's name inside the staging directory. */
export const ARCHIVE_NAME = ".archive.tar";

/** A hidden staging directory in `parent`; listings hide it as they hide part files. */
export function stagingPath(parent: string, nonce: string): string {
  return childPath(parent, `.stowage-batch-${nonce}${PART_SUFFIX}`);
}

/** Reads staging directories, one per line, and answers each with tar's exit status. */
const LOOP = `while IFS= read -r stage; do tar -x -m -f "$stage/${ARCHIVE_NAME}" -C "$stage" 2>/dev/null; printf '%s\\n' "$?"; done`;

/** One unpacking loop on the host: batches queue on it and are unpacked in order. */
export class Unpacker {
  readonly #channel: ClientChannel;
  readonly #waiting: Array<{ resolve(): void; reject(error: unknown): void; stage: string; count: number }> = [];
  #pending = "";
  #closed = false;
  #answered = 0;
  #exitCode: number | undefined;

  private constructor(channel: ClientChannel) {
    this.#channel = channel;
    channel.on("data", (chunk: Buffer) => this.#answer(chunk.toString("utf8")));
    channel.stderr.on("data", () => {});
    channel.on("exit", (code: number | null) => (this.#exitCode = code ?? undefined));
    channel.on("close", () => {
      this.#closed = true;
      for (const waiter of this.#waiting.splice(0)) waiter.reject(this.#ended(waiter.stage));
    });
  }

  /**
   * Starts the loop on a new exec channel; rejects when the host refuses one (MaxSessions).
   * `command` replaces the loop in tests (a shell that cannot run it).
   */
  static start(client: Client, command = LOOP): Promise<Unpacker> {
    return new Promise((resolve, reject) => client.exec(command, (error, channel) => (error ? reject(error) : resolve(new Unpacker(channel)))));
  }

  get open(): boolean {
    return !this.#closed;
  }

  /** Batches sent and not yet answered. */
  get busy(): number {
    return this.#waiting.length;
  }

  /**
   * Unpacks `stage`/ARCHIVE_NAME into `stage`. Rejects `Unsupported` when the host has no tar
   * (exit 127), `Unexpected` for any other failure of tar.
   */
  unpack(stage: string, count: number): Promise<void> {
    if (stage.includes("\n")) throw new RangeError("a staging path cannot hold a newline");
    return new Promise((resolve, reject) => {
      if (this.#closed) return reject(this.#ended(stage));
      this.#waiting.push({ resolve, reject, stage, count });
      this.#channel.write(`${stage}\n`);
    });
  }

  close(): void {
    if (!this.#closed) this.#channel.end();
  }

  /**
   * Why a batch got no answer. A loop that failed before answering anything never ran: the login
   * shell is not a POSIX shell (fish, cmd.exe) or the account may not run commands, so batches
   * cannot work on this host at all.
   */
  #ended(stage: string): StowageError {
    const neverRan = this.#answered === 0 && this.#exitCode !== undefined && this.#exitCode !== 0;
    return new StowageError({
      code: neverRan ? "Unsupported" : "Unavailable",
      retryable: !neverRan,
      system: "ssh",
      operation: "write",
      path: stage,
      message: neverRan ? `the host's shell cannot run the unpacking loop (exit ${this.#exitCode})` : "the unpacking loop on the host ended",
    });
  }

  #answer(text: string): void {
    this.#pending += text;
    let newline: number;
    while ((newline = this.#pending.indexOf("\n")) >= 0) {
      const status = Number(this.#pending.slice(0, newline));
      this.#pending = this.#pending.slice(newline + 1);
      this.#answered++;
      const waiter = this.#waiting.shift();
      if (!waiter) continue;
      if (status === 0) waiter.resolve();
      else {
        waiter.reject(
          new StowageError({
            // 127: the shell found no tar.
            code: status === 127 ? "Unsupported" : "Unexpected",
            system: "ssh",
            operation: "write",
            path: waiter.stage,
            message: `tar on the host exited with ${status} unpacking a batch of ${waiter.count} files`,
          }),
        );
      }
    }
  }
}

/** Up to `limit` unpacking loops per connection, each batch given to an idle or the least busy one. */
export class Unpackers {
  readonly #byClient = new WeakMap<Client, { loops: Unpacker[]; starting: Array<Promise<Unpacker>> }>();

  constructor(readonly limit: number) {}

  async pick(client: Client): Promise<Unpacker> {
    let state = this.#byClient.get(client);
    if (!state) this.#byClient.set(client, (state = { loops: [], starting: [] }));
    const { starting } = state;
    state.loops = state.loops.filter((loop) => loop.open);
    const loops = state.loops;
    const idle = loops.find((loop) => loop.busy === 0);
    if (idle) return idle;
    if (loops.length + starting.length < this.limit) {
      const started = Unpacker.start(client);
      starting.push(started);
      try {
        const loop = await started;
        loops.push(loop);
        return loop;
      } finally {
        starting.splice(starting.indexOf(started), 1);
      }
    }
    if (loops.length === 0) return Promise.any(starting);
    return loops.reduce((best, loop) => (loop.busy < best.busy ? loop : best));
  }

  /** Ends every loop of `client` (the host's shells exit at the end of their input). */
  close(client: Client): void {
    for (const loop of this.#byClient.get(client)?.loops ?? []) loop.close();
    this.#byClient.delete(client);
  }
}
