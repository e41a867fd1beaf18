/**
 * The footer parquet-wasm is handed, where a file's own would make it fail. Some writers store 0 for
 * "no dictionary page" in a column chunk's `dictionary_page_offset`; arrow-rs then reads the chunk
 * from the file's first byte and fails on the magic ("Expected list element type of I64 but got
 * I16"). The offset is dropped (a dictionary page, if there is one, is still the chunk's first page,
 * at `data_page_offset`, and read as such). And arrow-rs reads an INTERVAL column (months, days and
 * milliseconds) as a day-time interval, silently dropping the months: its annotation is dropped, so
 * it reads as the 12 bytes it is stored as (fixed_size_binary[12]), as pyarrow reads it. A logical
 * type arrow-rs does not know (newer than FLOAT16) fails its schema conversion; dropped, the column
 * reads as its physical type, as pyarrow reads it.
 *
 * parquet-wasm then sees the file as its bytes up to the footer followed by the repaired footer:
 * the page bytes are never changed, only where the footer says they are.
 */
import { field, type ThriftStruct, writeStruct } from "./thrift-compact.js";
import { items } from "./readable.js";
import type { BlobLike, RangeSource } from "./source.js";

// Field ids from parquet.thrift.
const FILE_SCHEMA = 2;
const FILE_ROW_GROUPS = 4;
const ELEMENT_CONVERTED_TYPE = 6;
const ELEMENT_LOGICAL_TYPE = 10;
const CONVERTED_INTERVAL = 21;
/** The last LogicalType union member parquet-wasm 0.8 converts (FLOAT16). */
const LAST_KNOWN_LOGICAL = 15;
const ROW_GROUP_COLUMNS = 1;
const CHUNK_META = 3;
const META_DICTIONARY_PAGE_OFFSET = 11;

/** The file as parquet-wasm should see it: the source's bytes [0, footerStart), then `tail`. */
export interface WasmFooter {
  footerStart: number;
  /** The repaired footer, its length and the closing magic. */
  tail: Uint8Array;
}

/** The repaired footer, or undefined when the file's own is fine. Edits `footer`. */
export function wasmFooter(footer: ThriftStruct, footerStart: number): WasmFooter | undefined {
  let changed = false;
  for (const element of items(footer, FILE_SCHEMA)) {
    const converted = field(element, ELEMENT_CONVERTED_TYPE);
    if (converted?.value === CONVERTED_INTERVAL) {
      element.fields.splice(element.fields.indexOf(converted), 1);
      changed = true;
    }
    const logical = field(element, ELEMENT_LOGICAL_TYPE);
    if (logical && (logical.value as ThriftStruct).fields.every((member) => member.id > LAST_KNOWN_LOGICAL)) {
      element.fields.splice(element.fields.indexOf(logical), 1);
      changed = true;
    }
  }
  for (const group of items(footer, FILE_ROW_GROUPS)) {
    for (const chunk of items(group, ROW_GROUP_COLUMNS)) {
      const meta = field(chunk, CHUNK_META)?.value as ThriftStruct | undefined;
      const dictionary = meta && field(meta, META_DICTIONARY_PAGE_OFFSET);
      // Inside the leading magic: not a page. (A real dictionary page is read at data_page_offset.)
      if (dictionary && Number(dictionary.value) < 4) {
        meta.fields.splice(meta.fields.indexOf(dictionary), 1);
        changed = true;
      }
    }
  }
  if (!changed) return undefined;
  const metadata = writeStruct(footer);
  const tail = new Uint8Array(metadata.length + 8);
  tail.set(metadata);
  new DataView(tail.buffer).setUint32(metadata.length, metadata.length, true);
  tail.set([0x50, 0x41, 0x52, 0x31], metadata.length + 4);
  return { footerStart, tail };
}

/** The whole file as parquet-wasm should see it: its tail (from `tail.start`) and size. */
export function wasmTail(
  tail: { start: number; bytes: Uint8Array },
  size: number,
  repair: WasmFooter | undefined,
): { start: number; bytes: Uint8Array; size: number } {
  if (!repair) return { ...tail, size };
  const kept = tail.bytes.subarray(0, repair.footerStart - tail.start);
  const bytes = new Uint8Array(kept.length + repair.tail.length);
  bytes.set(kept);
  bytes.set(repair.tail, kept.length);
  return { start: tail.start, bytes, size: repair.footerStart + repair.tail.length };
}

/** The file as a Blob-shaped object for `ParquetFile.fromFile`, with the repaired footer when there is one. */
export function wasmBlob(source: RangeSource, repair: WasmFooter | undefined): BlobLike {
  if (!repair) return source.asBlob();
  const size = repair.footerStart + repair.tail.length;
  const read = async (start: number, end: number): Promise<Uint8Array> => {
    if (start >= repair.footerStart) return repair.tail.slice(start - repair.footerStart, end - repair.footerStart);
    if (end <= repair.footerStart) return source.read(start, end);
    const bytes = new Uint8Array(end - start);
    bytes.set(await source.read(start, repair.footerStart));
    bytes.set(repair.tail.subarray(0, end - repair.footerStart), repair.footerStart - start);
    return bytes;
  };
  const make = (start: number, end: number): BlobLike => ({
    size: end - start,
    slice: (a = 0, b = end - start) => make(start + a, start + Math.min(b, end - start)),
    arrayBuffer: async () => {
      const bytes = await read(start, end);
      const copy = new Uint8Array(bytes.length);
      copy.set(bytes);
      return copy.buffer;
    },
  });
  return make(0, size);
}
