/** A blob's bytes as a stream: inflated as the pack entry arrives, sliced to a range, verified. */
import { createHash } from "node:crypto";
import { Readable, pipeline } from "node:stream";
import { createInflate } from "node:zlib";
import { GitProtocolError } from "./errors.js";
import type { BlobFetch } from "./protocol.js";

/**
 * Bytes [start, end) of the blob `id`. The download stops once `end` is reached; a whole read is
 * checked against the blob id (SHA-1 of the content), so corruption cannot pass silently.
 */
export function blobStream(blob: BlobFetch, id: string, start: number, end: number, signal?: AbortSignal): Readable {
  const stream = Readable.from(inflateRange(blob, id, start, end, signal), { objectMode: false });
  stream.once("close", () => blob.abort());
  return stream;
}

async function* inflateRange(blob: BlobFetch, id: string, start: number, end: number, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const whole = start === 0 && end === blob.size;
  const hash = whole ? createHash("sha1").update(`blob ${blob.size}\0`) : undefined;
  const source = Readable.from(blob.compressed, { objectMode: false });
  const inflate = createInflate();
  // Errors of either stream reach the loop below through `inflate`.
  pipeline(source, inflate, () => {});
  let position = 0;
  try {
    for await (const chunk of inflate as AsyncIterable<Buffer>) {
      const from = Math.max(start - position, 0);
      const to = Math.min(end - position, chunk.length);
      position += chunk.length;
      hash?.update(chunk);
      if (from < to) yield chunk.subarray(from, to);
      if (!whole && position >= end) return;
    }
  } catch (error) {
    // An aborted request surfaces as a reset socket; report the abort, not a network failure.
    throw signal?.aborted ? signal.reason : error;
  } finally {
    source.destroy();
    inflate.destroy();
  }
  if (position !== blob.size) throw new GitProtocolError(`blob ${id} inflated to ${position} bytes, its header says ${blob.size}`);
  if (hash && hash.digest("hex") !== id) throw new GitProtocolError(`blob ${id} arrived corrupted (its content hashes differently)`);
}
