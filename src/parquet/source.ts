/**
 * One Parquet file as a byte-range source: readers ask for the footer and the column chunks they
 * need, and only those bytes are read. Where the bytes come from is a `ByteReader` (a System, in
 * resources/table/range-source.ts); this layer knows only offsets. The file's tail (footer, page
 * indexes) is fetched once and served from memory afterwards.
 *
 * It is handed to parquet-wasm as a Blob-shaped object: `ParquetFile.fromFile` only uses `size`,
 * `slice()` and `arrayBuffer()` (tables.md §4.2; covered by the tests).
 */

/** The tail fetched first: footers and page indexes of ordinary files fit in it. */
const TAIL_BYTES = 64 * 1024;

/** Reads bytes of one file. */
export interface ByteReader {
  /** Bytes [offset, offset + length), in `into` (at least `length` long) when given. */
  read(offset: number, length: number, into?: Uint8Array): Promise<Uint8Array>;
  /** The last `length` bytes (fewer when the file is shorter). */
  readSuffix(length: number): Promise<Uint8Array>;
}

export interface BlobLike {
  readonly size: number;
  slice(start?: number, end?: number): BlobLike;
  arrayBuffer(): Promise<ArrayBuffer>;
}

export class RangeSource {
  #tail: Promise<{ start: number; bytes: Uint8Array }> | undefined;

  constructor(
    readonly reader: ByteReader,
    /** The file's path, for errors. */
    readonly path: string,
    readonly size: number,
  ) {}

  /**
   * Bytes [start, end) of the file; outside the tail, in an ArrayBuffer of their own (so they can be
   * transferred), or in `into` (at least `end - start` long) when given.
   */
  async read(start: number, end: number, into?: Uint8Array): Promise<Uint8Array> {
    if (end <= start) return new Uint8Array(0);
    const tail = await this.tail();
    if (start >= tail.start) return tail.bytes.subarray(start - tail.start, end - tail.start);
    return this.reader.read(start, end - start, into);
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
      const bytes = await this.reader.readSuffix(length);
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
