/**
 * Sends a stream as numbered parts with a fixed memory budget: `concurrency` buffers of `partSize`
 * bytes, allocated once and reused, so a large upload makes no garbage of its own. Used by the
 * object stores' multipart (S3 parts, Azure blocks) uploads.
 */

/** Fills part buffers from the body's chunks, copying each byte once. */
class PartReader {
  #pending: Buffer | undefined;
  #ended = false;
  readonly #chunks: AsyncIterator<Buffer>;
  constructor(chunks: AsyncIterator<Buffer>) {
    this.#chunks = chunks;
  }

  /** Fills `buffer` from the body; returns the bytes filled (less than full only at the end). */
  async fill(buffer: Buffer): Promise<number> {
    let filled = 0;
    while (filled < buffer.length) {
      if (!this.#pending) {
        if (this.#ended) break;
        const next = await this.#chunks.next();
        if (next.done) {
          this.#ended = true;
          break;
        }
        this.#pending = next.value;
      }
      const copied = this.#pending.copy(buffer, filled);
      filled += copied;
      this.#pending = copied < this.#pending.length ? this.#pending.subarray(copied) : undefined;
    }
    return filled;
  }
}

export interface PartOptions {
  partSize: number;
  concurrency: number;
  /** Number of the body's first part (parts before it were sent by an earlier attempt). */
  firstPart: number;
  signal?: AbortSignal | undefined;
}

/**
 * Cuts `chunks` into parts and calls `send` for each, up to `concurrency` at once. Resolves with the
 * bytes sent once every part is sent; on the first failure the other sends finish and it rejects.
 * `send` must be done with the buffer when it resolves: the buffer is reused for a later part.
 */
export async function sendParts(
  chunks: AsyncIterator<Buffer>,
  options: PartOptions,
  send: (partNumber: number, bytes: Buffer) => Promise<void>,
): Promise<{ size: number; parts: number }> {
  const { partSize, signal } = options;
  const reader = new PartReader(chunks);
  let size = 0;
  let nextPart = options.firstPart;
  let done = false;
  // Each worker owns one buffer: fill it, send it, reuse it. Filling goes one worker at a time
  // (the `reading` chain), so parts are numbered in body order while their sends overlap.
  let reading: Promise<unknown> = Promise.resolve();
  const fillAndSend = async () => {
    let buffer: Buffer | undefined;
    while (!done) {
      let filled = 0;
      let partNumber = 0;
      const turn = reading.then(async () => {
        if (done) return;
        buffer ??= Buffer.allocUnsafeSlow(partSize);
        filled = await reader.fill(buffer);
        if (filled < partSize) done = true;
        if (filled > 0) partNumber = nextPart++;
      });
      reading = turn.catch(() => undefined);
      await turn;
      if (partNumber === 0) return;
      signal?.throwIfAborted();
      size += filled;
      await send(partNumber, buffer!.subarray(0, filled));
    }
  };
  const worker = async () => {
    try {
      await fillAndSend();
    } catch (error) {
      done = true; // the other workers finish their part in flight and stop
      throw error;
    }
  };
  const results = await Promise.allSettled(Array.from({ length: options.concurrency }, worker));
  const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failure) throw failure.reason;
  signal?.throwIfAborted();
  return { size, parts: nextPart - options.firstPart };
}
