/**
 * A minimal ustar archive writer for batch uploads: regular files only, each named by the caller
 * (short names: the batch names its members by index), mode 0644 as SFTP's default with umask 022.
 * Every POSIX `tar` (GNU, bsdtar, BusyBox) extracts it.
 */

const BLOCK = 512;

export interface TarMember {
  /** At most 100 bytes: the archive uses no long-name extensions. */
  name: string;
  body: Uint8Array;
}

/** The archive's bytes: a header block per member, its data padded to a block, two zero blocks. */
export function tarArchive(members: readonly TarMember[], mtime = new Date()): Buffer {
  let length = 2 * BLOCK;
  for (const member of members) length += BLOCK + padded(member.body.length);
  const archive = Buffer.alloc(length);
  const seconds = Math.floor(mtime.getTime() / 1000);
  let offset = 0;
  for (const member of members) {
    writeHeader(archive.subarray(offset, offset + BLOCK), member.name, member.body.length, seconds);
    offset += BLOCK;
    archive.set(member.body, offset);
    offset += padded(member.body.length);
  }
  return archive;
}

const padded = (size: number) => Math.ceil(size / BLOCK) * BLOCK;

function writeHeader(block: Buffer, name: string, size: number, mtimeSeconds: number): void {
  if (Buffer.byteLength(name) > 100) throw new RangeError(`tar member name longer than 100 bytes: ${name}`);
  block.write(name, 0, 100, "utf8");
  octal(block, 100, 8, 0o644);
  octal(block, 108, 8, 0); // uid
  octal(block, 116, 8, 0); // gid
  octal(block, 124, 12, size);
  octal(block, 136, 12, mtimeSeconds);
  block.write("        ", 148, 8, "latin1"); // the checksum counts its own field as spaces
  block.write("0", 156, 1, "latin1"); // regular file
  block.write("ustar\u000000", 257, 8, "latin1");
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, "0")}\u0000 `, 148, 8, "latin1");
}

/** A zero-padded octal number filling `width - 1` digits and a NUL. */
function octal(block: Buffer, offset: number, width: number, value: number): void {
  const digits = value.toString(8);
  if (digits.length > width - 1) throw new RangeError(`${value} does not fit a ${width}-byte tar field`);
  block.write(`${digits.padStart(width - 1, "0")}\u0000`, offset, width, "latin1");
}
