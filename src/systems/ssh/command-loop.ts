/**
 * Long-lived shell loops on the host that run one small job per request: a request is a few lines
 * on the loop's standard input, the answer one line, `<exit status>[ <message>]`. An exec channel
 * per job would start the login shell each time, and a shell rc file that sets up pyenv or conda
 * costs 100-300 ms of the host's CPU per start; a loop pays that once per connection.
 */
import type { Client, ClientChannel } from "ssh2";
import { StowageError } from "../../errors.js";
import { openExec } from "./exec.js";

/** A loop with nothing to do for this long ends. */
const IDLE_CLOSE_MS = 2000;

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
  #ending = false;
  #idleTimer: NodeJS.Timeout | undefined;

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
    return openExec(client, script).then((channel) => new CommandLoop(channel));
  }

  /** Lines can carry any path but one with a newline: callers run such jobs another way. */
  static fits(lines: readonly string[]): boolean {
    return lines.every((line) => !line.includes("\n"));
  }

  get open(): boolean {
    return !this.#closed && !this.#ending;
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
      if (this.#ending) return reject(this.#ended(path));
      clearTimeout(this.#idleTimer);
      this.#waiting.push({ resolve, reject, path });
      this.#channel.write(lines.map((line) => `${line}\n`).join(""));
    });
  }

  close(): void {
    clearTimeout(this.#idleTimer);
    this.#ending = true;
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
    // An idle loop gives its channel back: the host allows only so many per connection.
    if (this.#waiting.length === 0) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = setTimeout(() => this.close(), IDLE_CLOSE_MS).unref();
    }
  }
}

/** Refused loop starts retried (with a growing pause) before a request fails. */
const START_RETRIES = 6;
const START_PAUSE_MS = 100;

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Up to `limit` loops of one script per connection, each request given to an idle or the least
 * busy one. OpenSSH allows 10 channels per connection by default (MaxSessions), shared with SFTP
 * channels and uploads: a refused start lowers the limit for this connection, and with no loop at
 * all the start is retried while other channels end.
 */
export class CommandLoops {
  readonly #byClient = new WeakMap<Client, { loops: CommandLoop[]; starting: number; limit: number }>();

  constructor(
    readonly script: string,
    readonly limit: number,
  ) {}

  async pick(client: Client): Promise<CommandLoop> {
    let state = this.#byClient.get(client);
    if (!state) this.#byClient.set(client, (state = { loops: [], starting: 0, limit: this.limit }));
    for (let refused = 0; ;) {
      state.loops = state.loops.filter((loop) => loop.open);
      const { loops } = state;
      const idle = loops.find((loop) => loop.busy === 0);
      if (idle) return idle;
      if (loops.length + state.starting < state.limit) {
        state.starting++;
        try {
          const loop = await CommandLoop.start(client, this.script);
          loops.push(loop);
          return loop;
        } catch (error) {
          if (loops.length + state.starting > 1) state.limit = Math.max(1, loops.length + state.starting - 1);
          else if (++refused > START_RETRIES) throw error;
          else await pause(START_PAUSE_MS * 2 ** (refused - 1));
          continue;
        } finally {
          state.starting--;
        }
      }
      if (loops.length > 0) return loops.reduce((best, loop) => (loop.busy < best.busy ? loop : best));
      await pause(10); // every slot is starting: look again once one has
    }
  }
}
