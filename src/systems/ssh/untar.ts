/**
 * Reads the members of a tar archive made by the host's tar for batch downloads: GNU tar (its own
 * format with 'L' long names, or ustar), bsdtar (pax 'x' headers) and BusyBox. Regular files come
 * back by name with their bytes, as views into the archive; a hard link ('1') gets the bytes of
 * the member it names, as tar stores a file's second name that way. Directories, symlinks and
 * other types are skipped: a batch asks only for regular files.
 */

const BLOCK = 512;

/** A malformed archive: the batch fails and its files are read one by one. */
export class TarFormatError extends Error {
  override readonly name = "TarFormatError";
}

/** Regular files in `archive`, by member name (without a leading "./"). */
export function untar(archive: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let longName: string | undefined;
  let pax: Record<string, string> = {};
  for (let offset = 0; offset + BLOCK <= archive.length;) {
    const header = archive.subarray(offset, offset + BLOCK);
    if (header.every((byte) => byte === 0)) break; // end of archive
    checkSum(header, offset);
    const type = String.fromCharCode(header[156]!);
    const size = pax.size !== undefined ? Number(pax.size) : numberField(header, 124, 12);
    const dataStart = offset + BLOCK;
    const dataEnd = dataStart + size;
    if (!Number.isSafeInteger(size) || size < 0 || dataEnd > archive.length) throw new TarFormatError(`tar member at ${offset} runs past the archive`);
    const data = archive.subarray(dataStart, dataEnd);
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;

    if (type === "L") {
      longName = textField(data, 0, data.length);
      continue;
    }
    if (type === "x") {
      pax = { ...pax, ...paxRecords(data) };
      continue;
    }
    if (type === "g" || type === "K") continue; // global pax defaults, GNU long link names: nothing a batch needs
    const name = stripDotSlash(pax.path ?? longName ?? headerName(header));
    const linkName = pax.linkpath ?? textField(header, 157, 100);
    longName = undefined;
    pax = {};
    if (type === "0" || type === "\0" || type === "7") files.set(name, data);
    else if (type === "1") {
      const target = files.get(stripDotSlash(linkName));
      if (target) files.set(name, target);
    }
  }
  return files;
}

/** The header's name: ustar keeps a prefix apart (POSIX ustar only; GNU's own format uses that space otherwise). */
function headerName(header: Buffer): string {
  const name = textField(header, 0, 100);
  const posixUstar = header.toString("latin1", 257, 263) === "ustar\0";
  const prefix = posixUstar ? textField(header, 345, 155) : "";
  return prefix ? `${prefix}/${name}` : name;
}

const stripDotSlash = (name: string) => name.replace(/^(\.\/)+/, "");

function textField(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.toString("utf8", 0, end < 0 ? field.length : end);
}

/** Octal, or GNU's base-256 (high bit set) for sizes past 8 GiB. */
function numberField(block: Buffer, offset: number, length: number): number {
  const first = block[offset]!;
  if (first & 0x80) {
    let value = first & 0x7f;
    for (let i = 1; i < length; i++) value = value * 256 + block[offset + i]!;
    return value;
  }
  const text = block
    .toString("latin1", offset, offset + length)
    .replace(/[\0 ]+$/, "")
    .trim();
  return text === "" ? 0 : parseInt(text, 8);
}

function checkSum(header: Buffer, offset: number): void {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
  if (sum !== numberField(header, 148, 8)) throw new TarFormatError(`bad tar header checksum at ${offset}`);
}

/** "<length> <key>=<value>\n" records. */
function paxRecords(data: Buffer): Record<string, string> {
  const records: Record<string, string> = {};
  for (let offset = 0; offset < data.length;) {
    const space = data.indexOf(0x20, offset);
    const length = Number(data.toString("latin1", offset, space));
    if (space < 0 || !Number.isSafeInteger(length) || length <= 0 || offset + length > data.length) throw new TarFormatError("malformed pax header");
    const record = data.toString("utf8", space + 1, offset + length - 1);
    const equals = record.indexOf("=");
    if (equals > 0) records[record.slice(0, equals)] = record.slice(equals + 1);
    offset += length;
  }
  return records;
}
