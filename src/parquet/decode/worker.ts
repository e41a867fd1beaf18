/**
 * A decoding thread (threads.ts starts it): row groups' column chunks in, the decoded columns'
 * buffers out, both by transfer. It imports the decoders and nothing of Arrow, and never reads a
 * file: the bytes come from the main thread, which read them through the file's source.
 */
import { parentPort } from "node:worker_threads";
import { decodeColumn, type DecodedColumn } from "./column.js";
import { decompressorFor } from "./decompress.js";
import { readPages } from "./pages.js";
import type { DecodeReply, DecodeTask } from "./threads.js";

const port = parentPort!;

async function decode(task: DecodeTask): Promise<DecodedColumn[]> {
  return Promise.all(
    task.chunks.map(async (chunk) => {
      const decompress = await decompressorFor(chunk.codec);
      if (!decompress) throw new Error(`no decompressor for ${chunk.codec}`);
      const pages = await readPages(new Uint8Array(task.buffers[chunk.buffer]!, chunk.start, chunk.end - chunk.start), decompress);
      return decodeColumn(chunk.physical, chunk.optional, pages, task.rows);
    }),
  );
}

/** Every buffer the columns are views of and the chunks' buffers (going back for reuse), once each. */
function transferred(columns: DecodedColumn[], inputs: ArrayBuffer[]): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>(inputs);
  for (const column of columns)
    for (const view of [column.words, column.offsets, column.data, column.bits, column.nullBitmap]) if (view) buffers.add(view.buffer as ArrayBuffer);
  return [...buffers];
}

port.on("message", (task: DecodeTask) => {
  decode(task).then(
    (columns) => port.postMessage({ id: task.id, columns, buffers: task.buffers } satisfies DecodeReply, transferred(columns, task.buffers)),
    (error: unknown) => port.postMessage({ id: task.id, error: String(error), buffers: task.buffers } satisfies DecodeReply, task.buffers),
  );
});

// Ready once the native zstd decoder is loaded (the first pages would wait for it anyway).
void decompressorFor("ZSTD").finally(() => port.postMessage({ ready: true }));
