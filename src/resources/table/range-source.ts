/**
 * A table's Parquet file on any system as the Parquet layer's byte-range source: every read is a
 * ranged read of the system (`readBytes` into one buffer where the system has it), so only the
 * footer and the column chunks a reader asks for cross the network.
 */
import { RangeSource, type ByteReader } from "../../parquet/source.js";
import type { System } from "../../systems/contract.js";
import { readRange } from "../../systems/extensions.js";

/** `path` on `system`, `size` bytes long, as a RangeSource. */
export function systemRangeSource(system: System, path: string, size: number, signal?: AbortSignal): RangeSource {
  return new RangeSource(systemReader(system, path, signal), path, size);
}

function systemReader(system: System, path: string, signal: AbortSignal | undefined): ByteReader {
  const options = signal ? { signal } : {};
  return {
    async read(offset, length, into) {
      if (system.readBytes) return system.readBytes(path, { offset, length }, { ...options, ...(into ? { into } : {}) });
      return collect(await readRange(system, path, { offset, length }, options), length, into);
    },
    async readSuffix(length) {
      return collect(await readRange(system, path, { suffix: length }, options), length);
    },
  };
}

/**
 * A read's chunks copied once, into one buffer of the expected length: column chunks are megabytes,
 * and every extra copy (and the garbage collections the allocations trigger) shows in read times.
 */
async function collect(stream: AsyncIterable<Uint8Array | string>, expected: number, into?: Uint8Array): Promise<Uint8Array> {
  let bytes = into && into.length >= expected ? into.subarray(0, expected) : new Uint8Array(expected);
  let length = 0;
  for await (const chunk of stream) {
    const piece = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    if (length + piece.length > bytes.length) {
      const grown = new Uint8Array(Math.max(length + piece.length, bytes.length * 2));
      grown.set(bytes.subarray(0, length));
      bytes = grown;
    }
    bytes.set(piece, length);
    length += piece.length;
  }
  return length === bytes.length ? bytes : bytes.slice(0, length);
}
