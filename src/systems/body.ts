/** Write bodies and byte ranges, the same for every system. */
import { Readable } from "node:stream";
import { StowageError } from "../errors.js";
import type { ByteRange, WriteBody } from "./contract.js";

export function isBytes(body: WriteBody): body is Uint8Array | string {
  return typeof body === "string" || body instanceof Uint8Array;
}

/** The body as bytes, when it already is bytes. */
export function bytesOf(body: Uint8Array | string): Buffer {
  return typeof body === "string" ? Buffer.from(body, "utf8") : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** Any body as a Node Readable of Buffers. */
export function toReadable(body: WriteBody): Readable {
  if (isBytes(body)) return Readable.from([bytesOf(body)], { objectMode: false });
  if (body instanceof Readable) return body;
  return Readable.from(body, { objectMode: false });
}

export async function readAll(stream: AsyncIterable<Uint8Array | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** A range resolved against an object's size: bytes [start, end), clamped to the object. */
export function resolveRange(range: ByteRange | undefined, size: number): { start: number; end: number } {
  if (!range) return { start: 0, end: size };
  validateRange(range);
  if ("suffix" in range) return { start: Math.max(0, size - range.suffix), end: size };
  const start = Math.min(range.offset, size);
  const end = range.length === undefined ? size : Math.min(size, range.offset + range.length);
  return { start, end };
}

export function validateRange(range: ByteRange): void {
  const numbers = "suffix" in range ? [range.suffix] : [range.offset, range.length ?? 0];
  if (numbers.some((n) => !Number.isSafeInteger(n) || n < 0)) {
    throw new StowageError({ code: "InvalidInput", message: `invalid byte range ${JSON.stringify(range)}` });
  }
}

/** An HTTP Range header value for a range, or undefined for the whole object. */
export function httpRange(range: ByteRange | undefined): string | undefined {
  if (!range) return undefined;
  validateRange(range);
  if ("suffix" in range) return `bytes=-${range.suffix}`;
  if (range.length === undefined) return `bytes=${range.offset}-`;
  return `bytes=${range.offset}-${range.offset + range.length - 1}`;
}

/** True when a range selects no bytes at all, which HTTP cannot express. */
export function isEmptyRange(range: ByteRange | undefined): boolean {
  if (!range) return false;
  return "suffix" in range ? range.suffix === 0 : range.length === 0;
}

/**
 * Only bytes [start, end) of a stream, for a source that sends the whole object. Leaving the loop
 * once they are read destroys the source, so its download stops there.
 */
export function sliceBytes(source: Readable, start: number, end: number): Readable {
  return Readable.from(slice(source, start, end), { objectMode: false });
}

async function* slice(source: Readable, start: number, end: number): AsyncGenerator<Buffer> {
  let position = 0;
  for await (const chunk of source as AsyncIterable<Buffer>) {
    const from = Math.max(start - position, 0);
    const to = Math.min(end - position, chunk.length);
    position += chunk.length;
    if (from < to) yield chunk.subarray(from, to);
    if (position >= end) return;
  }
}
