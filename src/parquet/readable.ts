/**
 * What of a Parquet file Stowage cannot read, decided from its footer before any page is read: an
 * encrypted file or column, a codec or an encoding no decoder here has (Unsupported, naming it), a
 * column chunk that lies outside the file's data (InvalidInput). Column problems are kept per
 * top-level column, so the other columns of such a file still read; a read of that column fails
 * with the error instead of an untyped one from a decoder, or fewer rows.
 */
import { StowageError } from "../errors.js";
import { field, type ThriftList, type ThriftStruct } from "./thrift-compact.js";

// Field ids from parquet.thrift.
const FILE_ROW_GROUPS = 4;
const FILE_ENCRYPTION_ALGORITHM = 8;
const ROW_GROUP_COLUMNS = 1;
const CHUNK_FILE_PATH = 1;
const CHUNK_META = 3;
const CHUNK_CRYPTO_METADATA = 8;
const CHUNK_ENCRYPTED_METADATA = 9;
const META_ENCODINGS = 2;
const META_PATH = 3;
const META_CODEC = 4;
const META_COMPRESSED_SIZE = 7;
const META_DATA_PAGE_OFFSET = 9;
const META_DICTIONARY_PAGE_OFFSET = 11;

const CODECS = ["UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"];
/** Codecs parquet-wasm (arrow-rs) decompresses: every one Parquet defines but LZO. */
const READABLE_CODECS = new Set([0, 1, 2, 4, 5, 6, 7]);
const ENCODINGS = [
  "PLAIN",
  "GROUP_VAR_INT",
  "PLAIN_DICTIONARY",
  "RLE",
  "BIT_PACKED",
  "DELTA_BINARY_PACKED",
  "DELTA_LENGTH_BYTE_ARRAY",
  "DELTA_BYTE_ARRAY",
  "RLE_DICTIONARY",
  "BYTE_STREAM_SPLIT",
];
/** Encodings parquet-wasm decodes: all but GROUP_VAR_INT (never written) and ids it does not know. */
const READABLE_ENCODINGS = new Set([0, 2, 3, 4, 5, 6, 7, 8, 9]);

const ENCRYPTED_MAGIC = 0x45524150; // "PARE"

export const items = (struct: ThriftStruct | undefined, id: number): ThriftStruct[] =>
  ((struct && (field(struct, id)?.value as ThriftList | undefined)?.items) ?? []) as ThriftStruct[];

const int = (struct: ThriftStruct, id: number): number | undefined => {
  const value = field(struct, id)?.value;
  return typeof value === "number" || typeof value === "bigint" ? Number(value) : undefined;
};

const text = new TextDecoder();

/** A column chunk's path in the schema, dotted. */
export function chunkPath(meta: ThriftStruct): string[] {
  return items(meta, META_PATH).map((segment) => text.decode(segment as unknown as Uint8Array));
}

const unsupported = (path: string, message: string) => new StowageError({ code: "Unsupported", operation: "read", path, message: `${path}: ${message}` });
const damaged = (path: string, message: string) =>
  new StowageError({ code: "InvalidInput", operation: "read", path, retryable: false, message: `${path}: ${message}` });

/** A file whose footer is encrypted ("PARE" at its end) is refused before its footer is parsed. */
export function isEncryptedMagic(lastFour: number): boolean {
  return lastFour === ENCRYPTED_MAGIC;
}

export function encryptedFile(path: string, how: string): StowageError {
  return unsupported(path, `encrypted Parquet files cannot be read (${how})`);
}

/** Refuses a file encrypted with a plaintext footer (its columns are encrypted). */
export function checkFile(footer: ThriftStruct, path: string): void {
  if (field(footer, FILE_ENCRYPTION_ALGORITHM)) throw encryptedFile(path, "plaintext footer, encrypted columns");
}

/**
 * Why each top-level column cannot be read, for the columns that cannot. `dataEnd`: where the
 * footer starts (no column chunk may reach past it).
 */
export function columnProblems(footer: ThriftStruct, path: string, dataEnd: number): Map<string, StowageError> {
  const problems = new Map<string, StowageError>();
  items(footer, FILE_ROW_GROUPS).forEach((group, rowGroup) => {
    for (const chunk of items(group, ROW_GROUP_COLUMNS)) {
      const meta = field(chunk, CHUNK_META)?.value as ThriftStruct | undefined;
      const columnPath = meta ? chunkPath(meta) : [];
      const column = columnPath[0];
      const problem = chunkProblem(chunk, meta, columnPath.join("."), rowGroup, path, dataEnd);
      if (problem && column !== undefined && !problems.has(column)) problems.set(column, problem);
      if (problem && column === undefined) problems.set("", problem);
    }
  });
  return problems;
}

function chunkProblem(
  chunk: ThriftStruct,
  meta: ThriftStruct | undefined,
  column: string,
  rowGroup: number,
  path: string,
  dataEnd: number,
): StowageError | undefined {
  if (field(chunk, CHUNK_CRYPTO_METADATA) || field(chunk, CHUNK_ENCRYPTED_METADATA)) return encryptedFile(path, `column ${column || "?"} is encrypted`);
  if (!meta) return damaged(path, `a column chunk of row group ${rowGroup} has no metadata`);
  if (field(chunk, CHUNK_FILE_PATH))
    return unsupported(path, `column ${column} is stored in another file (ColumnChunk.file_path), which Stowage does not follow`);
  const codec = int(meta, META_CODEC) ?? -1;
  if (!READABLE_CODECS.has(codec))
    return unsupported(path, `column ${column} is compressed with ${CODECS[codec] ?? `unknown codec id ${codec}`}, which Stowage cannot decompress`);
  for (const encoding of items(meta, META_ENCODINGS) as unknown as number[]) {
    if (!READABLE_ENCODINGS.has(encoding))
      return unsupported(path, `column ${column} uses the ${ENCODINGS[encoding] ?? `unknown encoding id ${encoding}`} encoding, which Stowage cannot decode`);
  }
  const dataPage = int(meta, META_DATA_PAGE_OFFSET) ?? -1;
  const dictionaryPage = int(meta, META_DICTIONARY_PAGE_OFFSET) ?? 0;
  const start = dictionaryPage > 0 ? Math.min(dictionaryPage, dataPage) : dataPage;
  const size = int(meta, META_COMPRESSED_SIZE) ?? -1;
  if (start < 4 || size < 0 || start + size > dataEnd) {
    return damaged(path, `column ${column} of row group ${rowGroup} lies outside the file's data (bytes ${start} to ${start + size}, data ends at ${dataEnd})`);
  }
  return undefined;
}

/** Throws why a column cannot be read, for the first such column of `columns`. */
export function assertReadable(problems: ReadonlyMap<string, StowageError>, columns: readonly string[]): void {
  if (problems.size === 0) return;
  const problem = problems.get("") ?? columns.map((c) => problems.get(c)).find((p) => p !== undefined);
  if (problem) throw problem;
}
