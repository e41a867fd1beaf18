/**
 * What lets a finished script exit while a connection stays pooled. Node runs as long as a ref'd
 * handle is open, and an SSH connection is a socket (plus, behind a proxy, a jump connection's
 * socket or a command's process and pipes) that would never close by itself. So a connection
 * counts the operations in flight: its handles are ref'd while one runs and unref'd when the last
 * ends, and after a spell of idleness the connection is closed (the next operation reconnects).
 */

/** Something that keeps Node's event loop alive while ref'd: a socket, a child process, a pipe. */
export interface LoopHandle {
  ref(): void;
  unref(): void;
}

/** Several handles ref'd and unref'd together. */
export function loopHandles(...handles: ReadonlyArray<LoopHandle | undefined>): LoopHandle {
  const present = handles.filter((handle): handle is LoopHandle => handle !== undefined);
  return {
    ref: () => present.forEach((handle) => handle.ref()),
    unref: () => present.forEach((handle) => handle.unref()),
  };
}

/** A stream's own handle where it has one (a net.Socket, a child's pipe); nothing for other streams. */
export function handleOf(stream: object): LoopHandle | undefined {
  const candidate = stream as Partial<LoopHandle>;
  return typeof candidate.ref === "function" && typeof candidate.unref === "function" ? (candidate as LoopHandle) : undefined;
}

/**
 * Counts operations in flight. `busy` runs when the first starts, `idle` when the last ends; the
 * release function each `begin` returns may be called more than once.
 */
export class InFlight {
  #count = 0;

  constructor(private readonly events: { busy(): void; idle(): void }) {}

  get count(): number {
    return this.#count;
  }

  begin(): () => void {
    if (this.#count++ === 0) this.events.busy();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.#count === 0) this.events.idle();
    };
  }

  /** `run` counted from its start until it settles. */
  async run<T>(run: () => Promise<T>): Promise<T> {
    const release = this.begin();
    try {
      return await run();
    } finally {
      release();
    }
  }

  /** An async iterable counted until its consumer has finished with it (or stopped early). */
  async *iterate<T>(source: () => AsyncIterable<T>): AsyncIterable<T> {
    const release = this.begin();
    try {
      yield* source();
    } finally {
      release();
    }
  }
}

/** Calls `release` once `stream` ends, fails or is destroyed: a stream handed out is in flight until then. */
export function releaseWhenDone<S extends NodeJS.EventEmitter>(stream: S, release: () => void): S {
  for (const event of ["close", "end", "finish", "error"]) stream.once(event, release);
  return stream;
}
