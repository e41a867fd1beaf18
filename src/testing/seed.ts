/**
 * The seed tree: the same files for every system. Writable systems get them written by the tests;
 * read-only systems (github) serve them from a repository built from this function.
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";

/** Deterministic pseudo-random bytes (xorshift), so expected content needs no storage. */
export function seededBytes(size: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  let i = 0;
  for (; i + 4 <= size; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out.writeUInt32LE(x, i);
  }
  for (; i < size; i++) out[i] = (x >>> ((i % 4) * 8)) & 0xff;
  return out;
}

/**
 * A large stream of `size` bytes built from seeded 1 MiB blocks, with its sha256 computed as it
 * is produced; it never holds more than one block.
 */
export function seededStream(size: number, seed = 7): { stream: Readable; sha256: () => string } {
  const block = seededBytes(1 << 20, seed);
  const hash = createHash("sha256");
  let sent = 0;
  let n = 0;
  const stream = new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      const chunk = Buffer.from(block.subarray(0, Math.min(block.length, size - sent)));
      chunk.writeUInt32LE(n++, 0); // every block differs, so a swapped or repeated block is caught
      sent += chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, sha256: () => hash.digest("hex") };
}

export const MANY_COUNT = 1_100;
export const SPECIAL_NAMES = ["with space.txt", "ünïcødé-日本.txt", "a#b?c%d+e.txt"];

/** The seed tree as relative path → content. */
export function seedTree(): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  files.set("nested/top.txt", Buffer.from("top\n"));
  files.set("nested/a/b/deep.txt", Buffer.from("deep\n"));
  files.set("empty.bin", Buffer.alloc(0));
  files.set("range.bin", seededBytes(1 << 20, 3));
  for (const name of SPECIAL_NAMES) files.set(`special/${name}`, Buffer.from(`name: ${name}\n`));
  for (let i = 0; i < MANY_COUNT; i++) files.set(`many/f${String(i).padStart(4, "0")}.txt`, Buffer.from(`${i}\n`));
  return files;
}

/** The large file read-only systems serve for the streaming memory test. */
export const BIG_SEED_PATH = "big.bin";
export const BIG_SEED_SIZE = 48 << 20;
export function bigSeed(): Buffer {
  return seededBytes(BIG_SEED_SIZE, 11);
}

/**
 * A seeded stream of `size` bytes with a signal that aborts once `abortAt` bytes were read from it;
 * `bytesRead()` tells how far the reader got.
 */
export function abortingStream(size: number, abortAt: number): { stream: Readable; signal: AbortSignal; bytesRead: () => number } {
  const controller = new AbortController();
  const { stream } = seededStream(size);
  let sent = 0;
  stream.on("data", (chunk: Buffer) => {
    sent += chunk.length;
    if (sent >= abortAt) controller.abort();
  });
  return { stream, signal: controller.signal, bytesRead: () => sent };
}
