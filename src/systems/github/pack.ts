/**
 * Packfiles (git's transfer format): a 12-byte header, entries of a type+size header followed by
 * zlib data, and a SHA-1 trailer. Delta entries (OFS_DELTA: base by position in this pack;
 * REF_DELTA: base by object id) are resolved against their bases here.
 */
import { createHash } from "node:crypto";
import { inflateSync } from "node:zlib";
import { GitProtocolError } from "./errors.js";

export type ObjectType = "commit" | "tree" | "blob" | "tag";

export interface GitObject {
  type: ObjectType;
  data: Buffer;
}

const OBJECT_TYPES: Record<number, ObjectType> = { 1: "commit", 2: "tree", 3: "blob", 4: "tag" };
export const OFS_DELTA = 6;
export const REF_DELTA = 7;
export const PACK_HEADER_LENGTH = 12;
export const PACK_TRAILER_LENGTH = 20;

export function objectTypeName(code: number): ObjectType | undefined {
  return OBJECT_TYPES[code];
}

/** The object id git gives `data` of `type`: SHA-1 of "<type> <size>\0<data>". */
export function objectId(type: ObjectType, data: Buffer): string {
  return createHash("sha1").update(`${type} ${data.length}\0`).update(data).digest("hex");
}

/** "PACK", version 2 or 3, object count. */
export function parsePackHeader(header: Buffer): { count: number } {
  if (header.length < PACK_HEADER_LENGTH || header.toString("latin1", 0, 4) !== "PACK") {
    throw new GitProtocolError("the server sent no packfile signature");
  }
  const version = header.readUInt32BE(4);
  if (version !== 2 && version !== 3) throw new GitProtocolError(`unsupported packfile version ${version}`);
  return { count: header.readUInt32BE(8) };
}

export interface EntryHeader {
  typeCode: number;
  /** Inflated size: of the object, or of the delta for delta entries. */
  size: number;
  /** Offset just past the header. */
  end: number;
}

/** Parses an entry header at `position`, or returns undefined if `buffer` ends inside it. */
export function parseEntryHeader(buffer: Buffer, position: number): EntryHeader | undefined {
  let p = position;
  if (p >= buffer.length) return undefined;
  let byte = buffer[p++]!;
  const typeCode = (byte >> 4) & 7;
  let size = byte & 15;
  let scale = 16;
  while (byte & 0x80) {
    if (p >= buffer.length) return undefined;
    byte = buffer[p++]!;
    size += (byte & 0x7f) * scale;
    scale *= 128;
  }
  return { typeCode, size, end: p };
}

/**
 * Parses a whole (small) pack: every object with its id. `externalBase` supplies REF_DELTA bases
 * the pack does not hold (objects already known to the caller).
 */
export function parsePack(pack: Buffer, externalBase: (id: string) => GitObject | undefined): Map<string, GitObject> {
  verifyTrailer(pack);
  const { count } = parsePackHeader(pack);
  const end = pack.length - PACK_TRAILER_LENGTH;
  const byOffset = new Map<number, GitObject>();
  const byId = new Map<string, GitObject>();
  const findBase = (id: string) => byId.get(id) ?? externalBase(id);
  let position = PACK_HEADER_LENGTH;
  for (let i = 0; i < count; i++) {
    const entryStart = position;
    const header = parseEntryHeader(pack, position);
    if (!header || header.end > end) throw new GitProtocolError("packfile truncated in an entry header");
    position = header.end;
    let base: GitObject | undefined;
    if (header.typeCode === OFS_DELTA) {
      const { distance, end: after } = readOffset(pack, position);
      position = after;
      base = byOffset.get(entryStart - distance);
      if (!base) throw new GitProtocolError(`OFS_DELTA at ${entryStart} refers to no earlier entry`);
    } else if (header.typeCode === REF_DELTA) {
      const baseId = pack.toString("hex", position, position + 20);
      position += 20;
      base = findBase(baseId);
      if (!base) throw new GitProtocolError(`REF_DELTA base ${baseId} is not in the pack`);
    }
    const { buffer: data, engine } = inflateSync(pack.subarray(position, end), { info: true }) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
    if (data.length !== header.size) throw new GitProtocolError(`pack entry at ${entryStart} inflated to ${data.length} bytes, header says ${header.size}`);
    position += engine.bytesWritten;
    const type = base ? base.type : objectTypeName(header.typeCode);
    if (!type) throw new GitProtocolError(`unknown pack entry type ${header.typeCode}`);
    const object: GitObject = { type, data: base ? applyDelta(base.data, data) : data };
    byOffset.set(entryStart, object);
    byId.set(objectId(object.type, object.data), object);
  }
  if (position !== end) throw new GitProtocolError(`packfile has ${end - position} bytes after its last entry`);
  return byId;
}

function verifyTrailer(pack: Buffer): void {
  if (pack.length < PACK_HEADER_LENGTH + PACK_TRAILER_LENGTH) throw new GitProtocolError("packfile too short");
  const body = pack.subarray(0, pack.length - PACK_TRAILER_LENGTH);
  const expected = pack.subarray(pack.length - PACK_TRAILER_LENGTH);
  if (!createHash("sha1").update(body).digest().equals(expected)) throw new GitProtocolError("packfile checksum mismatch");
}

/** OFS_DELTA's base distance: big-endian base-128 where each continuation adds one. */
function readOffset(buffer: Buffer, position: number): { distance: number; end: number } {
  let p = position;
  let byte = buffer[p++]!;
  let distance = byte & 0x7f;
  while (byte & 0x80) {
    if (p >= buffer.length) throw new GitProtocolError("packfile truncated in a delta offset");
    byte = buffer[p++]!;
    distance = (distance + 1) * 128 + (byte & 0x7f);
  }
  return { distance, end: p };
}

/** Applies a git delta (source size, target size, then copy/insert instructions) to `base`. */
export function applyDelta(base: Buffer, delta: Buffer): Buffer {
  let p = 0;
  const readSize = () => {
    let size = 0;
    let scale = 1;
    let byte: number;
    do {
      if (p >= delta.length) throw new GitProtocolError("delta truncated in its header");
      byte = delta[p++]!;
      size += (byte & 0x7f) * scale;
      scale *= 128;
    } while (byte & 0x80);
    return size;
  };
  const sourceSize = readSize();
  if (sourceSize !== base.length) throw new GitProtocolError(`delta expects a ${sourceSize}-byte base, got ${base.length}`);
  const target = Buffer.allocUnsafe(readSize());
  let out = 0;
  while (p < delta.length) {
    const op = delta[p++]!;
    if (op & 0x80) {
      let offset = 0;
      let size = 0;
      for (let bit = 0; bit < 4; bit++) if (op & (1 << bit)) offset += delta[p++]! * 2 ** (8 * bit);
      for (let bit = 0; bit < 3; bit++) if (op & (0x10 << bit)) size += delta[p++]! * 2 ** (8 * bit);
      if (size === 0) size = 0x10000;
      if (offset + size > base.length || out + size > target.length) throw new GitProtocolError("delta copies outside its base or target");
      base.copy(target, out, offset, offset + size);
      out += size;
    } else if (op > 0) {
      if (p + op > delta.length || out + op > target.length) throw new GitProtocolError("delta inserts past its end");
      delta.copy(target, out, p, p + op);
      p += op;
      out += op;
    } else {
      throw new GitProtocolError("delta has a reserved instruction 0");
    }
  }
  if (out !== target.length) throw new GitProtocolError("delta produced the wrong size");
  return target;
}
