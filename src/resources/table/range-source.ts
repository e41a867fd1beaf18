/**
 * One remote Parquet file as a byte-range source: every read is a ranged `system.read`, so only
 * the footer and the column chunks a reader asks for cross the network. The file's tail (footer,
 * page indexes) is fetched once and served from memory afterwards.
 *
 * It is handed to parquet-wasm as a Blob-shaped object: `ParquetFile.fromFile` only uses `size`,
 * `slice()` and `arrayBuffer()` (tables.md §4.2; covered by the tests).
 */
import type { System } from "../../systems/contract.js";
import { readRange } from "../../systems/extensions.js";

/** The tail fetched first: footers and page indexes of ordinary files fit in it. */
const TAIL_BYTES = 64 * 1024;

export interface BlobLike {
  readonly size: number;
  slice(start?: number, end?: number): BlobLike;
  arrayBuffer(): Promise<ArrayBuffer>;
}

export class RangeSource {
  #tail: Promise<{ start: number; bytes: Uint8Array }> | undefined;

  constructor(
    readonly system: System,
    readonly path: string,
    readonly size: number,
    readonly signal?: AbortSignal,
  ) {}

  /**
   * Bytes [start, end) of the file; outside the tail, in an ArrayBuffer of their own (so they can be
   * transferred), or in `into` (at least `end - start` long) when given.
   */
  async read(start: number, end: number, into?: Uint8Array): Promise<Uint8Array> {
    if (end <= start) return new Uint8Array(0);
    const tail = await this.tail();
    if (start >= tail.start) return tail.bytes.subarray(start - tail.start, end - tail.start);
    const signal = this.signal ? { signal: this.signal } : {};
    if (this.system.readBytes) return this.system.readBytes(this.path, { offset: start, length: end - start }, { ...signal, ...(into ? { into } : {}) });
    const stream = await readRange(this.system, this.path, { offset: start, length: end - start }, signal);
    return collect(stream, end - start, into);
  }

  /** The last bytes of the file, holding at least the footer. */
  tail(minimum = 0): Promise<{ start: number; bytes: Uint8Array }> {
    const wanted = Math.min(this.size, Math.max(TAIL_BYTES, minimum));
    if (this.#tail) {
      return this.#tail.then((tail) => (this.size - tail.start >= wanted ? tail : this.#fetchTail(wanted)));
    }
    return this.#fetchTail(wanted);
  }

  #fetchTail(length: number): Promise<{ start: number; bytes: Uint8Array }> {
    this.#tail = (async () => {
      const stream = await readRange(this.system, this.path, { suffix: length }, this.signal ? { signal: this.signal } : {});
      const bytes = await collect(stream, length);
      return { start: this.size - bytes.length, bytes };
    })();
    return this.#tail;
  }

  asBlob(): BlobLike {
    const make = (start: number, end: number): BlobLike => ({
      size: end - start,
      slice: (a = 0, b = end - start) => make(start + a, start + Math.min(b, end - start)),
      arrayBuffer: async () => wholeArrayBuffer(await this.read(start, end)),
    });
    return make(0, this.size);
  }
}

/**
 * A read's chunks copied once, into one buffer of the expected length: column chunks are megabytes,
 * and every extra copy (and the garbage collections the allocations trigger) shows in read times.
 */
async function collect(stream: AsyncIterable<Uint8Array | string>, expected: number, into?: Uint8Array): Promise<Uint8Array> {
  let bytes = into && into.length >= expected ? into.subarray(0, expected) : new Uint8Array(expected);
  let length = 0;
  for await (const chunk of stream) {
    const piece = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    if (length + piece.length > bytes.length) {
      const grown = new Uint8Array(Math.max(length + piece.length, bytes.length * 2));
      grown.set(bytes.subarray(0, length));
      bytes = grown;
    }
    bytes.set(piece, length);
    length += piece.length;
  }
  return length === bytes.length ? bytes : bytes.slice(0, length);
}

/** The bytes' ArrayBuffer when they span all of it, else a copy in one of their own. */
export function wholeArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) return bytes.buffer;
  return ownArrayBuffer(bytes);
}

/**
 * The bytes in an ArrayBuffer of their own. `Buffer#slice` does not copy and Node's Buffers share
 * pooled ArrayBuffers, so handing `.buffer` on would expose unrelated bytes.
 */
export function ownArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy.buffer;
}
