/**
 * Page checksums. A page header may carry the CRC-32 of the page as stored (its bytes after the
 * header, compressed, levels included). When a read asks (`verifyChecksums`), every page of the
 * column chunks it decodes is checked where its writer stored a CRC, as Arrow does; one that does
 * not match is a damaged file: InvalidInput naming the file, column and page, not retryable.
 *
 * The chunks are read for the check on their own, before decoding: the option costs a second read
 * of each chunk, and changes nothing in the decoders.
 */
import * as zlib from "node:zlib";
import { StowageError } from "../errors.js";
import type { Footer } from "./footer.js";
import type { RangeSource } from "./source.js";
import { field, readStructAt } from "./thrift-compact.js";

// PageHeader field ids from parquet.thrift.
const HEADER_COMPRESSED_SIZE = 3;
const HEADER_CRC = 4;

let table: Int32Array | undefined;

/** CRC-32 (ISO-HDLC, as zlib), in JavaScript where Node has no `zlib.crc32` (before 20.15). */
function crc32InJs(bytes: Uint8Array): number {
  if (!table) {
    table = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c;
    }
  }
  let crc = -1;
  for (let i = 0; i < bytes.length; i++) crc = table[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

const nativeCrc32 = (zlib as unknown as { crc32?: (data: Uint8Array) => number }).crc32;

/** The CRC-32 of `bytes` as Parquet stores it (a signed 32-bit integer). */
export function pageCrc(bytes: Uint8Array): number {
  return (nativeCrc32 ? nativeCrc32(bytes) : crc32InJs(bytes)) | 0;
}

/** Checks the pages of one column chunk (its bytes, starting at file offset `at`). */
export function checkChunkPages(chunk: Uint8Array, at: number, path: string, column: string): void {
  const damaged = (message: string) =>
    new StowageError({ code: "InvalidInput", operation: "read", path, retryable: false, message: `${path}: column ${column}: ${message}` });
  let position = 0;
  let page = 0;
  while (position < chunk.length) {
    let header;
    try {
      header = readStructAt(chunk, position);
    } catch (error) {
      throw damaged(`the header of page ${page} (at byte ${at + position}) cannot be read: ${(error as Error).message}`);
    }
    const size = Number(field(header.struct, HEADER_COMPRESSED_SIZE)?.value ?? -1);
    if (size < 0 || header.end + size > chunk.length) throw damaged(`page ${page} (at byte ${at + position}) runs past its column chunk`);
    const crc = field(header.struct, HEADER_CRC)?.value;
    if (typeof crc === "number" && pageCrc(chunk.subarray(header.end, header.end + size)) !== crc) {
      throw damaged(`page ${page} (at byte ${at + position}) does not match its checksum`);
    }
    position = header.end + size;
    page++;
  }
}

/** Checks every page of the row group's chunks of these top-level columns. */
export async function verifyPageChecksums(source: RangeSource, footer: Footer, rowGroup: number, columns: readonly string[]): Promise<void> {
  const group = footer.rowGroups[rowGroup];
  await Promise.all(
    columns.flatMap((column) =>
      (group?.chunks.get(column) ?? []).map(async (span) => checkChunkPages(await source.read(span.start, span.end), span.start, source.path, column)),
    ),
  );
}
