/** Node-style `{ start, end }` (end inclusive, as in fs.createReadStream) to a system byte range. */
import { StowageError } from "../errors.js";
import type { ByteRange } from "../systems/contract.js";

export interface OpenOptions {
  /** First byte to read. */
  start?: number;
  /** Last byte to read, inclusive, as in `fs.createReadStream`. */
  end?: number;
  signal?: AbortSignal;
}

export function toByteRange(options: OpenOptions): ByteRange | undefined {
  const { start, end } = options;
  if (start === undefined && end === undefined) return undefined;
  const from = start ?? 0;
  if (!Number.isSafeInteger(from) || from < 0 || (end !== undefined && (!Number.isSafeInteger(end) || end < from - 1))) {
    throw new StowageError({ code: "InvalidInput", message: `invalid range start=${start} end=${end}` });
  }
  return end === undefined ? { offset: from } : { offset: from, length: end - from + 1 };
}
