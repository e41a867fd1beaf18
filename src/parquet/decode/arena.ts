/**
 * One buffer that a whole-table read's fixed-width results (values, and string offsets) are
 * carved from, sized from the plan before decoding starts. Allocated piecemeal, hundreds of MB
 * of results kept V8 collecting garbage every few row groups (external memory pressure); one
 * allocation up front halved the collections and cut a 5M-row read's CPU by about a tenth.
 *
 * As with Arrow IPC, the columns then share one ArrayBuffer: it is freed when the last of them is.
 * So only reads that keep everything they decode use one (no filter, no limit).
 */
export class Arena {
  readonly #buffer: ArrayBuffer;
  #at = 0;

  constructor(bytes: number) {
    // Zeroed: large buffers come straight from the kernel as zero pages, and what is never taken
    // must not expose old memory through the results' shared buffer.
    this.#buffer = new ArrayBuffer(bytes);
  }

  /** `length` elements, or undefined once the arena is used up (the caller allocates its own). */
  take<T>(ArrayType: { new (buffer: ArrayBuffer, offset: number, length: number): T; BYTES_PER_ELEMENT: number }, length: number): T | undefined {
    const bytes = length * ArrayType.BYTES_PER_ELEMENT;
    if (this.#at + bytes > this.#buffer.byteLength) return undefined;
    const taken = new ArrayType(this.#buffer, this.#at, length);
    this.#at += (bytes + 7) & ~7;
    return taken;
  }
}
