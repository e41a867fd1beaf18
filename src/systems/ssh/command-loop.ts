/**
 * Long-lived shell loops on the host that run one small job per request: a request is a few lines
 * on the loop's standard input, the answer one line, `<exit status>[ <message>]`. An exec channel
 * per job would start the login shell each time, and a shell rc file that sets up pyenv or conda
 * costs 100-300 ms of the host's CPU per start; a loop pays that once per connection.
 */
import type { Client, ClientChannel } from "ssh2";
import { StowageError } from "../../errors.js";

export interface LoopAnswer {
  status: number;
  message: string;
}

/** One loop on one exec channel: requests queue and are answered in order. */
export class CommandLoop {
  readonly #channel: ClientChannel;
  readonly #waiting: Array<{ resolve(answer: LoopAnswer): void; reject(error: unknown): void; path: string }> = [];
  #pending = "";
  #closed = false;
  #answered = 0;
  #exitCode: number | undefined;

  private constructor(channel: ClientChannel) {
    this.#channel = channel;
    channel.on("data", (chunk: Buffer) => this.#receive(chunk.toString("utf8")));
    channel.stderr.on("data", () => {});
    channel.on("exit", (code: number | null) => (this.#exitCode = code ?? undefined));
    channel.on("close", () => {
      this.#closed = true;
      for (const waiter of this.#waiting.splice(0)) waiter.reject(this.#ended(waiter.path));
    });
  }

  /** Starts `script` on a new exec channel; rejects when the host refuses one (MaxSessions). */
  static start(client: Client, script: string): Promise<CommandLoop> {
    return new Promise((resolve, reject) => client.exec(script, (error, channel) => (error ? reject(error) : resolve(new CommandLoop(channel)))));
  }

  /** Lines can carry any path but one with a newline: callers run such jobs another way. */
  static fits(lines: readonly string[]): boolean {
    return lines.every((line) => !line.includes("\n"));
  }

  get open(): boolean {
    return !this.#closed;
  }

  /** Requests sent and not yet answered. */
  get busy(): number {
    return this.#waiting.length;
  }

  /** Sends one request; `path` names it in errors. */
  request(lines: readonly string[], path: string): Promise<LoopAnswer> {
    if (!CommandLoop.fits(lines)) return Promise.reject(new RangeError("a loop request cannot hold a newline"));
    return new Promise((resolve, reject) => {
      if (this.#closed) return reject(this.#ended(path));
      this.#waiting.push({ resolve, reject, path });
      this.#channel.write(lines.map((line) => `${line}\n`).join(""));
    });
  }

  close(): void {
    if (!this.#closed) this.#channel.end();
  }

  /**
   * Why a request got no answer. A loop that failed before answering anything never ran: the login
   * shell is not a POSIX shell (fish, cmd.exe) or the account may not run commands, so nothing
   * that needs the loop can work on this host.
   */
  #ended(path: string): StowageError {
    const neverRan = this.#answered === 0 && this.#exitCode !== undefined && this.#exitCode !== 0;
    return new StowageError({
      code: neverRan ? "Unsupported" : "Unavailable",
      retryable: !neverRan,
      system: "ssh",
      path,
      message: neverRan ? `the host's shell cannot run Stowage's command loop (exit ${this.#exitCode})` : "the command loop on the host ended",
    });
  }

  #receive(text: string): void {
    this.#pending += text;
    let newline: number;
    while ((newline = this.#pending.indexOf("\n")) >= 0) {
      const line = this.#pending.slice(0, newline);
      this.#pending = this.#pending.slice(newline + 1);
      this.#answered++;
      const space = line.indexOf(" ");
      const answer = { status: Number(space < 0 ? line : line.slice(0, space)), message: space < 0 ? "" : line.slice(space + 1).trim() };
      this.#waiting.shift()?.resolve(answer);
    }
  }
}

/** Up to `limit` loops of one script per connection, each request given to an idle or the least busy one. */
export class CommandLoops {
  readonly #byClient = new WeakMap<Client, { loops: CommandLoop[]; starting: Array<Promise<CommandLoop>> }>();

  constructor(
    readonly script: string,
    readonly limit: number,
  ) {}

  async pick(client: Client): Promise<CommandLoop> {
    let state = this.#byClient.get(client);
    if (!state) this.#byClient.set(client, (state = { loops: [], starting: [] }));
    const { starting } = state;
    state.loops = state.loops.filter((loop) => loop.open);
    const loops = state.loops;
    const idle = loops.find((loop) => loop.busy === 0);
    if (idle) return idle;
    if (loops.length + starting.length < this.limit) {
      const started = CommandLoop.start(client, this.script);
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
}
