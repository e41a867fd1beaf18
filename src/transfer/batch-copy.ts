/**
 * Small files to a destination that writes them in batches (`System.batches`, an SSH host unpacking
 * one tar archive per batch): the engine groups them, reads each group whole, and hands it over in
 * one call. Whatever a batch could not do (a failed read, a file the destination refused, a batch
 * that could not run) goes back to the engine's one-file-at-a-time path with its retries.
 */
import { createHash } from "node:crypto";
import { readAll } from "../systems/body.js";
import type { BatchWrites, System } from "../systems/contract.js";
import type { PlannedCopy } from "./plan.js";
import { runPool } from "./pool.js";
import { WHOLE_FILE_LIMIT } from "./stream-copy.js";

/** Source reads in flight while a batch is gathered (remote sources answer one request per file). */
const READS_IN_FLIGHT = 8;

/** Splits the files to copy into batches of small files (in listing order) and the rest. */
export function splitForBatches(files: readonly PlannedCopy[], writes: BatchWrites): { batches: PlannedCopy[][]; singles: PlannedCopy[] } {
  const batches: PlannedCopy[][] = [];
  const singles: PlannedCopy[] = [];
  let current: PlannedCopy[] = [];
  let bytes = 0;
  for (const file of files) {
    const size = file.source.size;
    if (size > WHOLE_FILE_LIMIT || size > writes.maxBytes) {
      singles.push(file);
      continue;
    }
    if (current.length >= writes.maxFiles || bytes + size > writes.maxBytes) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(file);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  // A batch of one saves nothing over a single write.
  return { batches: batches.filter((batch) => batch.length > 1), singles: [...singles, ...batches.filter((batch) => batch.length === 1).flat()] };
}

/**
 * Reads every file of a batch whole. A file whose read fails, or whose bytes do not match its
 * listing (size, or MD5 where the source keeps one), comes back undefined: the single-file path
 * copies it again and reports what went wrong.
 */
export async function readBatch(source: System, files: readonly PlannedCopy[], verify: boolean, signal: AbortSignal | undefined): Promise<Array<Uint8Array | undefined>> {
  const bodies: Array<Uint8Array | undefined> = new Array(files.length).fill(undefined);
  const indexes = files.map((_, index) => index);
  await runPool(
    indexes,
    READS_IN_FLIGHT,
    async (index) => {
      const from = files[index]!.source;
      try {
        const body = await readAll(await source.read(from.path, signal ? { signal } : {}));
        if (verify && body.length !== from.size) return;
        if (verify && from.md5 && createHash("md5").update(body).digest("hex") !== from.md5) return;
        bodies[index] = body;
      } catch {
        // Left undefined: retried alone, where its error is reported.
      }
    },
    signal,
  );
  return bodies;
}
