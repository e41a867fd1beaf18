/** Reads: the object's metadata first (so NotFound comes before any byte, and ranges can be clamped). */
import { Readable, addAbortSignal } from "node:stream";
import type { File } from "@google-cloud/storage";
import { resolveRange } from "../body.js";
import type { RangedReadOptions } from "../contract.js";

export async function openRead(file: File, options: RangedReadOptions): Promise<Readable> {
  const [metadata] = await file.getMetadata();
  const size = Number(metadata.size ?? 0);
  const { start, end } = resolveRange(options.range, size);
  // HTTP cannot ask for zero bytes, and an empty object needs no request.
  if (end <= start) return Readable.from([]);
  const whole = start === 0 && end === size;
  const stream = whole
    ? file.createReadStream() // validated against the stored CRC32C
    : file.createReadStream({ start, end: end - 1, validation: false }); // GCS `end` is inclusive
  return options.signal ? addAbortSignal(options.signal, stream) : stream;
}
