/**
 * Checksums of a file's byte ranges that both ends of a copy compute to check it: the caller of
 * the bytes it read, the destination of the bytes it holds. MD5 is what a source's checksum is
 * and costs a core about 1.5 s per GiB; a copy with nothing to match but its own reads uses a CRC,
 * a tenth of that or less:
 * - "crc32": zlib's CRC-32 (gzip's, `cksum -a crc32b`), native in Node (zlib.crc32, Node 20.15+);
 * - "cksum": POSIX `cksum` (CRC-32/CKSUM over the bytes, then the length), the one every POSIX
 *   host has (GNU coreutils 9+ computes it with carry-less multiplication); here in JavaScript.
 */
import { createHash, type Hash } from "node:crypto";
import * as zlib from "node:zlib";
import type { RangeChecksum } from "./contract.js";

export type { RangeChecksum };

/** A running checksum of one range's bytes, in the form its tool prints. */
export interface RangeHash {
  update(chunk: Uint8Array): void;
  /** md5: hex; crc32: 8 hex digits; cksum: "<crc> <bytes>", as `cksum` prints it. Once. */
  digest(): string;
}

type Crc32 = (data: Uint8Array, value?: number) => number;
/** zlib.crc32 from Node 20.15 and 22.2; absent before. */
const nativeCrc32 = (zlib as unknown as { crc32?: Crc32 }).crc32;

/** Whether this process computes `checksum` (zlib's CRC-32 only where Node has it natively). */
export function computable(checksum: RangeChecksum): boolean {
  return checksum !== "crc32" || nativeCrc32 !== undefined;
}

export function createRangeHash(checksum: RangeChecksum): RangeHash {
  if (checksum === "md5") return md5Hash();
  if (checksum === "crc32") return crc32Hash(nativeCrc32!);
  return cksumHash();
}

function md5Hash(): RangeHash {
  const hash: Hash = createHash("md5");
  return { update: (chunk) => hash.update(chunk), digest: () => hash.digest("hex") };
}

function crc32Hash(crc32: Crc32): RangeHash {
  let value = 0;
  return {
    update: (chunk) => (value = crc32(chunk, value)),
    digest: () => (value >>> 0).toString(16).padStart(8, "0"),
  };
}

/** CRC-32/CKSUM tables for slicing by 16 (polynomial 0x04C11DB7, most significant bit first). */
const TABLES = (() => {
  const tables = new Int32Array(16 * 256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 24;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
    tables[byte] = crc;
  }
  for (let table = 1; table < 16; table++) {
    for (let byte = 0; byte < 256; byte++) {
      const previous = tables[(table - 1) * 256 + byte]!;
      tables[table * 256 + byte] = (previous << 8) ^ tables[(previous >>> 24) & 0xff]!;
    }
  }
  return tables;
})();

/** The CRC after `bytes`, 16 at a time. */
function cksumUpdate(crc: number, bytes: Uint8Array): number {
  const t = TABLES;
  const length = bytes.length;
  const whole = length - (length % 16);
  let at = 0;
  for (; at < whole; at += 16) {
    const head = crc ^ ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!);
    crc =
      t[3840 + (head >>> 24)]! ^
      t[3584 + ((head >>> 16) & 0xff)]! ^
      t[3328 + ((head >>> 8) & 0xff)]! ^
      t[3072 + (head & 0xff)]! ^
      t[2816 + bytes[at + 4]!]! ^
      t[2560 + bytes[at + 5]!]! ^
      t[2304 + bytes[at + 6]!]! ^
      t[2048 + bytes[at + 7]!]! ^
      t[1792 + bytes[at + 8]!]! ^
      t[1536 + bytes[at + 9]!]! ^
      t[1280 + bytes[at + 10]!]! ^
      t[1024 + bytes[at + 11]!]! ^
      t[768 + bytes[at + 12]!]! ^
      t[512 + bytes[at + 13]!]! ^
      t[256 + bytes[at + 14]!]! ^
      t[bytes[at + 15]!]!;
  }
  for (; at < length; at++) crc = (crc << 8) ^ t[((crc >>> 24) ^ bytes[at]!) & 0xff]!;
  return crc;
}

function cksumHash(): RangeHash {
  let crc = 0;
  let size = 0;
  return {
    update: (chunk) => {
      crc = cksumUpdate(crc, chunk);
      size += chunk.length;
    },
    digest: () => {
      // POSIX appends the length, least significant byte first, as few bytes as it takes.
      let value = crc;
      for (let rest = size; rest > 0; rest = Math.floor(rest / 256)) value = (value << 8) ^ TABLES[((value >>> 24) ^ rest) & 0xff]!;
      return `${(~value >>> 0).toString()} ${size}`;
    },
  };
}
