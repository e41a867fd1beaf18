/**
 * Small files where one end moves them in batches: a destination that writes a batch in one call
 * (`System.batches`, an SSH host unpacking one tar archive) or a source that reads one in one call
 * (`System.batchReads`, an SSH host packing one). The engine groups the files, reads each group
 * whole (in one call where the source can), and writes it (in one call where the destination can,
 * else file by file). Whatever a batch could not do (a failed read, a file the destination refused,
 * a batch that could not run) goes back to the engine's one-file-at-a-time path with its retries.
 */
import { createHash } from "node:crypto";
import { StowageError } from "../errors.js";
import { readAll } from "../systems/body.js";
import type { BatchReads, System, WriteResult } from "../systems/contract.js";
import { writable } from "../systems/extensions.js";
import type { PlannedCopy } from "./plan.js";
import { runPool } from "./pool.js";
import { WHOLE_FILE_LIMIT } from "./stream-copy.js";

/** Source reads in flight while a batch is gathered (remote sources answer one request per file). */
const READS_IN_FLIGHT = 8;
/** Writes in flight for a batch whose destination takes files one by one. */
const WRITES_IN_FLIGHT = 8;

export interface BatchLimits {
  readonly maxFiles: number;
  readonly maxBytes: number;
}

/** The tighter of both ends' limits, or undefined when neither end batches. */
export function batchLimits(...ends: Array<BatchLimits | undefined>): BatchLimits | undefined {
  const present = ends.filter((end): end is BatchLimits => end !== undefined);
  if (present.length === 0) return undefined;
  return { maxFiles: Math.min(...present.map((end) => end.maxFiles)), maxBytes: Math.min(...present.map((end) => end.maxBytes)) };
}

/** Splits the files to copy into batches of small files (in listing order) and the rest. */
export function splitForBatches(files: readonly PlannedCopy[], writes: BatchLimits): { batches: PlannedCopy[][]; singles: PlannedCopy[] } {
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
 * Reads every file of a batch whole: in one call where the source reads batches (`reads`), else
 * file by file. A file whose read fails, or whose bytes do not match its listing (size, or MD5
 * where the source keeps one), comes back undefined: the single-file path copies it again and
 * reports what went wrong. Rejects only when a batch read could not run at all.
 */
export async function readBatch(
  source: System,
  reads: BatchReads | undefined,
  files: readonly PlannedCopy[],
  verify: boolean,
  signal: AbortSignal | undefined,
): Promise<Array<Uint8Array | undefined>> {
  const checked = (index: number, body: Uint8Array): Uint8Array | undefined => {
    const from = files[index]!.source;
    if (verify && body.length !== from.size) return undefined;
    if (verify && from.md5 && createHash("md5").update(body).digest("hex") !== from.md5) return undefined;
    return body;
  };
  if (reads) {
    const outcomes = await reads.readMany(
      files.map((file) => file.source.path),
      signal ? { signal } : {},
    );
    return outcomes.map((outcome, index) => (outcome instanceof Error ? undefined : checked(index, outcome)));
  }
  const bodies: Array<Uint8Array | undefined> = new Array(files.length).fill(undefined);
  await runPool(
    files.map((_, index) => index),
    READS_IN_FLIGHT,
    async (index) => {
      try {
        bodies[index] = checked(index, await readAll(await source.read(files[index]!.source.path, signal ? { signal } : {})));
      } catch {
        // Left undefined: retried alone, where its error is reported.
      }
    },
    signal,
  );
  return bodies;
}

/**
 * Writes each body of a batch by itself, for a destination without batch writes: one outcome per
 * entry, in order. A size the destination did not store whole, or a checksum it stored differently,
 * is an error for that file.
 */
export async function writeEach(
  destination: System,
  entries: ReadonlyArray<{ path: string; body: Uint8Array }>,
  overwrite: boolean,
  verify: boolean,
  signal: AbortSignal | undefined,
): Promise<Array<WriteResult | Error>> {
  const outcomes: Array<WriteResult | Error> = new Array(entries.length);
  await runPool(
    entries.map((_, index) => index),
    WRITES_IN_FLIGHT,
    async (index) => {
      const { path, body } = entries[index]!;
      try {
        const md5 = verify && destination.semantics.checksums.includes("md5") ? createHash("md5").update(body).digest("hex") : undefined;
        const written = await writable(destination, "write", path).write(path, body, {
          overwrite,
          size: body.length,
          ...(md5 ? { md5 } : {}),
          ...(signal ? { signal } : {}),
        });
        const damaged = written.size !== body.length || (md5 !== undefined && written.md5 !== undefined && written.md5 !== md5);
        outcomes[index] = damaged
          ? new StowageError({
              code: "Conflict",
              retryable: true,
              system: destination.name,
              operation: "verify",
              path,
              message: "the destination did not store what was sent",
            })
          : written;
      } catch (error) {
        outcomes[index] = error instanceof Error ? error : new Error(String(error));
      }
    },
    signal,
  );
  return outcomes;
}
