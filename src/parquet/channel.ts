/** A bounded async hand-off between one producer and one consumer, with failure on either side. */
export class Channel<T> {
  readonly #items: T[] = [];
  readonly #capacity: number;
  #closed = false;
  #error: unknown;
  #failed = false;
  #wakeConsumer: (() => void) | undefined;
  #wakeProducer: (() => void) | undefined;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** Waits while the channel is full; rejects once the channel has failed. */
  async send(item: T): Promise<void> {
    while (!this.#failed && this.#items.length >= this.#capacity) await new Promise<void>((r) => (this.#wakeProducer = r));
    if (this.#failed) throw this.#error;
    this.#items.push(item);
    this.#wake();
  }

  close(): void {
    this.#closed = true;
    this.#wake();
  }

  fail(error: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#error = error;
    this.#wake();
  }

  async receive(): Promise<IteratorResult<T, undefined>> {
    for (;;) {
      if (this.#failed) throw this.#error;
      const item = this.#items.shift();
      if (item !== undefined) {
        this.#wake();
        return { done: false, value: item };
      }
      if (this.#closed) return { done: true, value: undefined };
      await new Promise<void>((r) => (this.#wakeConsumer = r));
    }
  }

  #wake(): void {
    const consumer = this.#wakeConsumer;
    const producer = this.#wakeProducer;
    this.#wakeConsumer = this.#wakeProducer = undefined;
    consumer?.();
    producer?.();
  }
}
