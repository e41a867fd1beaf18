/**
 * One Parquet file assembled from separately encoded parts (each a whole Parquet file holding some
 * row groups, all with the same schema and settings), so row groups can be encoded in parallel and
 * still land in one file. Each part's column chunks are copied as they are, with every file offset
 * in its footer moved by where they landed. The page indexes of all parts go together at the end,
 * before the footer, as a single writer lays them out (readers load them in one range): column
 * indexes copied, offset indexes re-encoded since they hold page offsets too. The file's footer is
 * the first part's, with all the row groups and the total row count.
 */
import { field, readStruct, setField, type ThriftList, type ThriftStruct, WireType, writeStruct } from "./thrift-compact.js";

const MAGIC = new Uint8Array([0x50, 0x41, 0x52, 0x31]); // "PAR1"

// Field ids from parquet.thrift.
const FILE_NUM_ROWS = 3;
const FILE_ROW_GROUPS = 4;
const ROW_GROUP_COLUMNS = 1;
const ROW_GROUP_NUM_ROWS = 3;
const ROW_GROUP_FILE_OFFSET = 5;
const ROW_GROUP_ORDINAL = 7;
const CHUNK_FILE_OFFSET = 2;
const CHUNK_META = 3;
const CHUNK_OFFSET_INDEX_OFFSET = 4;
const CHUNK_OFFSET_INDEX_LENGTH = 5;
const CHUNK_COLUMN_INDEX_OFFSET = 6;
const CHUNK_COLUMN_INDEX_LENGTH = 7;
const OFFSET_INDEX_PAGE_LOCATIONS = 1;
const PAGE_LOCATION_OFFSET = 1;
const META_DATA_PAGE_OFFSET = 9;
const META_INDEX_PAGE_OFFSET = 10;
const META_DICTIONARY_PAGE_OFFSET = 11;
const META_BLOOM_FILTER_OFFSET = 14;

function shift(struct: ThriftStruct, ids: readonly number[], by: bigint): void {
  for (const id of ids) {
    const f = field(struct, id);
    // ColumnChunk.file_offset is deprecated and written as 0 (unset): it stays so.
    if (f && typeof f.value === "bigint" && f.value !== 0n) f.value += by;
  }
}

const listOf = (struct: ThriftStruct, id: number) => ((field(struct, id)?.value as ThriftList | undefined)?.items ?? []) as ThriftStruct[];
const int = (struct: ThriftStruct, id: number) => {
  const value = field(struct, id)?.value;
  return value === undefined ? undefined : Number(value);
};

export class ParquetAssembler {
  /** Bytes handed out so far: where the next part's bytes start. */
  #position = 0;
  #footer: ThriftStruct | undefined;
  readonly #rowGroups: ThriftStruct[] = [];
  #rows = 0n;
  readonly #columnIndexes: { chunk: ThriftStruct; bytes: Uint8Array }[] = [];
  readonly #offsetIndexes: { chunk: ThriftStruct; bytes: Uint8Array }[] = [];

  /** The bytes to append for `part` (the first part's are preceded by the file's magic). */
  add(part: Uint8Array): Uint8Array[] {
    const view = new DataView(part.buffer, part.byteOffset, part.byteLength);
    const footerLength = view.getUint32(part.length - 8, true);
    const footerStart = part.length - 8 - footerLength;
    const footer = readStruct(part.subarray(footerStart, part.length - 8));
    const out: Uint8Array[] = [];
    if (this.#position === 0) {
      out.push(MAGIC);
      this.#position = MAGIC.length;
      this.#footer = footer;
    }
    const groups = listOf(footer, FILE_ROW_GROUPS);
    const chunks = groups.flatMap((group) => listOf(group, ROW_GROUP_COLUMNS));
    // Column chunks first, page indexes after them (as parquet-wasm lays a file out).
    const indexStarts = chunks.flatMap((c) => [int(c, CHUNK_COLUMN_INDEX_OFFSET), int(c, CHUNK_OFFSET_INDEX_OFFSET)]).filter((o) => o !== undefined);
    const dataEnd = Math.min(footerStart, ...indexStarts);
    const by = BigInt(this.#position - MAGIC.length);
    for (const group of groups) {
      shift(group, [ROW_GROUP_FILE_OFFSET], by);
      if (field(group, ROW_GROUP_ORDINAL)) setField(group, ROW_GROUP_ORDINAL, WireType.I16, this.#rowGroups.length);
      this.#rows += field(group, ROW_GROUP_NUM_ROWS)!.value as bigint;
      this.#rowGroups.push(group);
    }
    for (const chunk of chunks) {
      shift(chunk, [CHUNK_FILE_OFFSET], by);
      const meta = field(chunk, CHUNK_META)?.value as ThriftStruct | undefined;
      if (meta) shift(meta, [META_DATA_PAGE_OFFSET, META_INDEX_PAGE_OFFSET, META_DICTIONARY_PAGE_OFFSET, META_BLOOM_FILTER_OFFSET], by);
    }
    out.push(part.subarray(MAGIC.length, dataEnd));
    this.#position += dataEnd - MAGIC.length;
    for (const chunk of chunks) {
      const columnIndex = int(chunk, CHUNK_COLUMN_INDEX_OFFSET);
      if (columnIndex !== undefined) this.#columnIndexes.push({ chunk, bytes: part.slice(columnIndex, columnIndex + int(chunk, CHUNK_COLUMN_INDEX_LENGTH)!) });
      const offsetIndex = int(chunk, CHUNK_OFFSET_INDEX_OFFSET);
      if (offsetIndex === undefined) continue;
      const index = readStruct(part.subarray(offsetIndex, offsetIndex + int(chunk, CHUNK_OFFSET_INDEX_LENGTH)!));
      for (const location of listOf(index, OFFSET_INDEX_PAGE_LOCATIONS)) shift(location, [PAGE_LOCATION_OFFSET], by);
      this.#offsetIndexes.push({ chunk, bytes: writeStruct(index) });
    }
    return out;
  }

  /** The page indexes, the file's footer, its length and the closing magic. */
  finish(): Uint8Array[] {
    const footer = this.#footer;
    if (!footer) throw new Error("a Parquet file needs at least one part");
    const out: Uint8Array[] = [];
    // Column indexes hold values only: copied. Offset indexes were re-encoded with moved page offsets.
    for (const { chunk, bytes } of this.#columnIndexes) {
      setField(chunk, CHUNK_COLUMN_INDEX_OFFSET, WireType.I64, BigInt(this.#position));
      out.push(bytes);
      this.#position += bytes.length;
    }
    for (const { chunk, bytes } of this.#offsetIndexes) {
      setField(chunk, CHUNK_OFFSET_INDEX_OFFSET, WireType.I64, BigInt(this.#position));
      setField(chunk, CHUNK_OFFSET_INDEX_LENGTH, WireType.I32, bytes.length);
      out.push(bytes);
      this.#position += bytes.length;
    }
    setField(footer, FILE_NUM_ROWS, WireType.I64, this.#rows);
    setField(footer, FILE_ROW_GROUPS, WireType.List, { elementType: WireType.Struct, items: this.#rowGroups });
    const metadata = writeStruct(footer);
    const tail = new Uint8Array(metadata.length + 8);
    tail.set(metadata);
    new DataView(tail.buffer).setUint32(metadata.length, metadata.length, true);
    tail.set(MAGIC, metadata.length + 4);
    out.push(tail);
    return out;
  }
}
