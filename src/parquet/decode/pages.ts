/**
 * A column chunk split into its pages: each page header (Thrift compact) is read, the page body
 * decompressed. All of a chunk's pages decompress at once (on the thread pool, in parallel).
 */
import { field, readStructAt, type ThriftStruct } from "../thrift-compact.js";
import { NotHandled } from "./bits.js";
import type { Decompress } from "./decompress.js";

export const Encoding = {
  Plain: 0,
  PlainDictionary: 2,
  Rle: 3,
  DeltaBinaryPacked: 5,
  DeltaLengthByteArray: 6,
  DeltaByteArray: 7,
  RleDictionary: 8,
  ByteStreamSplit: 9,
} as const;

export interface Page {
  dictionary: boolean;
  /** Values in the page, nulls included. */
  values: number;
  encoding: number;
  /** Version 1 data pages: how the definition levels are encoded (RLE, or the old BIT_PACKED). */
  levelEncoding?: number | undefined;
  /** Version 2 pages: the definition levels' length at the start of `body` (never compressed). */
  levelsV2?: number;
  /** The page, decompressed: levels (version 1 and 2) then values. */
  body: Uint8Array;
}

// Field ids from parquet.thrift.
const HEADER_TYPE = 1;
const HEADER_UNCOMPRESSED_SIZE = 2;
const HEADER_COMPRESSED_SIZE = 3;
const HEADER_DATA_V1 = 5;
const HEADER_DICTIONARY = 7;
const HEADER_DATA_V2 = 8;
const PAGE_DATA = 0;
const PAGE_DICTIONARY = 2;
const PAGE_DATA_V2 = 3;

const num = (struct: ThriftStruct | undefined, id: number): number | undefined => {
  const value = struct && field(struct, id)?.value;
  return typeof value === "number" ? value : undefined;
};
const sub = (struct: ThriftStruct, id: number): ThriftStruct | undefined => field(struct, id)?.value as ThriftStruct | undefined;

export async function readPages(chunk: Uint8Array, decompress: Decompress): Promise<Page[]> {
  const pending: Promise<Page>[] = [];
  let pos = 0;
  while (pos < chunk.length) {
    const { struct: header, end } = readStructAt(chunk, pos);
    const type = num(header, HEADER_TYPE);
    const compressed = num(header, HEADER_COMPRESSED_SIZE) ?? -1;
    const uncompressed = num(header, HEADER_UNCOMPRESSED_SIZE) ?? -1;
    if (compressed < 0 || end + compressed > chunk.length) throw new NotHandled("page runs past its column chunk");
    const raw = chunk.subarray(end, end + compressed);
    pos = end + compressed;
    if (type === PAGE_DATA || type === PAGE_DICTIONARY) {
      const info = type === PAGE_DATA ? sub(header, HEADER_DATA_V1) : sub(header, HEADER_DICTIONARY);
      const values = num(info, 1);
      const encoding = num(info, 2);
      if (values === undefined || encoding === undefined) throw new NotHandled("page header without values or encoding");
      const levelEncoding = type === PAGE_DATA ? num(info, 3) : undefined;
      pending.push(whole(raw, uncompressed, decompress).then((body) => ({ dictionary: type === PAGE_DICTIONARY, values, encoding, levelEncoding, body })));
    } else if (type === PAGE_DATA_V2) {
      const info = sub(header, HEADER_DATA_V2);
      const values = num(info, 1);
      const encoding = num(info, 4);
      const definitions = num(info, 5) ?? 0;
      const repetitions = num(info, 6) ?? 0;
      const isCompressed = info && field(info, 7) ? field(info, 7)!.value !== false : true;
      if (values === undefined || encoding === undefined || repetitions !== 0) throw new NotHandled("unexpected version 2 page");
      const levels = raw.subarray(0, definitions);
      const rest = raw.subarray(definitions);
      pending.push(
        (isCompressed ? whole(rest, uncompressed - definitions, decompress) : Promise.resolve(rest)).then((decompressed) => {
          if (definitions === 0) return { dictionary: false, values, encoding, levelsV2: 0, body: decompressed };
          const body = new Uint8Array(definitions + decompressed.length);
          body.set(levels);
          body.set(decompressed, definitions);
          return { dictionary: false, values, encoding, levelsV2: definitions, body };
        }),
      );
    }
    // Index pages (never written in practice) carry nothing a reader needs.
  }
  return Promise.all(pending);
}

async function whole(raw: Uint8Array, size: number, decompress: Decompress): Promise<Uint8Array> {
  const body = await decompress(raw);
  if (body.length !== size) throw new NotHandled(`page decompressed to ${body.length} bytes, not ${size}`);
  return body;
}
