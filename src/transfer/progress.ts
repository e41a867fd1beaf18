/** Counts what a transfer has done and turns it into file events and throttled rate events. */
import type { ProgressEvent } from "./types.js";

export class ProgressMeter {
  readonly #emit: ((event: ProgressEvent) => void) | undefined;
  readonly #interval: number;
  readonly #started = Date.now();
  #lastRate = 0;
  bytesDone = 0;
  bytesTotal = 0;
  filesDone = 0;
  filesTotal = 0;

  constructor(emit: ((event: ProgressEvent) => void) | undefined, intervalMs = 500) {
    this.#emit = emit;
    this.#interval = intervalMs;
  }

  bytes(count: number): void {
    this.bytesDone += count;
    this.#maybeRate();
  }

  file(event: Extract<ProgressEvent, { type: "file" }>): void {
    this.filesDone++;
    this.#emit?.(event);
    this.#maybeRate();
  }

  /** Emits a final rate event, so listeners always see the end state. */
  finish(): void {
    if (this.#emit) this.#emit(this.#rate());
  }

  #maybeRate(): void {
    if (!this.#emit) return;
    const now = Date.now();
    if (now - this.#lastRate < this.#interval) return;
    this.#lastRate = now;
    this.#emit(this.#rate());
  }

  #rate(): ProgressEvent {
    const seconds = Math.max((Date.now() - this.#started) / 1000, 1e-3);
    const bytesPerSecond = this.bytesDone / seconds;
    const left = this.bytesTotal - this.bytesDone;
    const event: ProgressEvent = {
      type: "rate",
      bytesDone: this.bytesDone,
      bytesTotal: this.bytesTotal,
      filesDone: this.filesDone,
      filesTotal: this.filesTotal,
      bytesPerSecond,
    };
    if (bytesPerSecond > 0 && left >= 0) event.etaSeconds = left / bytesPerSecond;
    return event;
  }
}
