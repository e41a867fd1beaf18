/**
 * Which columns a write stores uncompressed. A codec that barely shrinks a column (random floats,
 * embeddings, hashes) still costs its full decode time on every read, so a column that zstd shrinks
 * by less than a tenth in the first row group encoded is written uncompressed from then on. Each
 * column chunk declares its own codec, so every reader reads the mix.
 *
 * Only top-level columns that are not nested: parquet-wasm addresses a column's settings by a
 * single path segment.
 */
import { field, readStruct, type ThriftList, type ThriftStruct } from "./thrift-compact.js";

/** A column is stored uncompressed when the codec saves less than this share of its bytes. */
export const MIN_SAVING = 0.1;

// Field ids from parquet.thrift.
const FILE_ROW_GROUPS = 4;
const ROW_GROUP_COLUMNS = 1;
const CHUNK_META = 3;
const META_PATH = 3;
const META_UNCOMPRESSED_SIZE = 6;
const META_COMPRESSED_SIZE = 7;

const items = (struct: ThriftStruct | undefined, id: number) =>
  ((struct && (field(struct, id)?.value as ThriftList | undefined)?.items) ?? []) as ThriftStruct[];

export class ColumnCodecs {
  #decided = false;
  readonly #uncompressed = new Set<string>();

  /** Columns to write uncompressed (none until the first row group has been seen). */
  get uncompressed(): string[] {
    return [...this.#uncompressed];
  }

  /** Decides from the first encoded part (a whole Parquet file); later parts change nothing. */
  learnFrom(part: Uint8Array): void {
    if (this.#decided) return;
    this.#decided = true;
    const footerLength = new DataView(part.buffer, part.byteOffset, part.byteLength).getUint32(part.length - 8, true);
    const footer = readStruct(part.subarray(part.length - 8 - footerLength, part.length - 8));
    const group = items(footer, FILE_ROW_GROUPS)[0];
    for (const chunk of items(group, ROW_GROUP_COLUMNS)) {
      const meta = field(chunk, CHUNK_META)?.value as ThriftStruct | undefined;
      const path = items(meta, META_PATH) as unknown as Uint8Array[];
      if (!meta || path.length !== 1) continue;
      const compressed = Number(field(meta, META_COMPRESSED_SIZE)?.value);
      const uncompressed = Number(field(meta, META_UNCOMPRESSED_SIZE)?.value);
      if (uncompressed > 0 && compressed > uncompressed * (1 - MIN_SAVING)) this.#uncompressed.add(new TextDecoder().decode(path[0]));
    }
  }
}
