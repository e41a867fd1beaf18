/**
 * Part files, shared by the systems that write them (file, ssh): a write goes to a hidden part file
 * beside its target and is renamed into place. A stream write cut by a failure that may pass keeps
 * its part file (as rsync's --partial) and a later attempt appends the rest to it.
 */
import { StowageError } from "../errors.js";
import type { DigestRanges, RangeChecksum, RangeWriter, SystemName, UploadState, WriteOptions, WriteResult } from "./contract.js";
import { baseName, parentPath } from "./paths.js";

/** Files being written are named like this beside their target; listings hide them. */
export const PART_SUFFIX = ".stowage-part";
export const isPartFile = (name: string) => name.startsWith(".") && name.endsWith(PART_SUFFIX);

/**
 * A part file written front to back ("partial-file": it holds a prefix of the file) or as ranges
 * ("partial-ranges": it may have holes, so only its writer's record of finished ranges says what
 * it holds, and appending after its size would be wrong).
 */
export type PartKind = "partial-file" | "partial-ranges";

/** The state that finds a kept part file again: `path` is the system path being written. */
export function partialState(path: string, part: string, kind: PartKind = "partial-file"): UploadState {
  return { kind, path, part };
}

/**
 * The part file of a state of `kind` that describes a write of `path` (at `where`, the path as
 * the system's host sees it). Only a part file beside the target is accepted, so a state can never
 * point a resume or a discard at any other file.
 */
export function partOf(path: string, state: UploadState, where = path, kind: PartKind = "partial-file"): string | undefined {
  const { part } = state;
  if (state.kind !== kind || state.path !== path || typeof part !== "string") return undefined;
  return parentPath(part) === parentPath(where) && isPartFile(baseName(part)) ? part : undefined;
}

/**
 * The part file a range writer is asked to `resume` (a "partial-ranges" state of `path`), or
 * undefined when there is nothing to resume; InvalidInput when the state is not one of this target.
 */
export function resumedRangesPart(system: SystemName, path: string, resume: UploadState | undefined, where = path): string | undefined {
  if (!resume) return undefined;
  const part = partOf(path, resume, where, "partial-ranges");
  if (!part)
    throw new StowageError({ code: "InvalidInput", system, operation: "write", path, message: "the range write to resume is not a part file of this target" });
  return part;
}

/** The part file of either kind of state, for discarding it. */
export function anyPartOf(path: string, state: UploadState, where = path): string | undefined {
  return partOf(path, state, where) ?? partOf(path, state, where, "partial-ranges");
}

/** The bytes to resume after, given what the part file holds: always short of the whole `size`. */
export function resumableBytes(held: number, size: number): number {
  return Math.max(0, Math.min(held, size - 1));
}

/** What a system does for a range writer over one of its part files (see partRangeWriter). */
export interface PartRanges {
  system: SystemName;
  /** The system path being written, and its part file (as the system's host sees it). */
  target: string;
  part: string;
  /** The file's final size. */
  size: number;
  /**
   * Writes `body` at `offset` of the part file; answers how many bytes it took (more than `length`
   * only where the system cannot stop short, and then the range fails) and, where it could, the
   * `checksum` asked for of what landed. Tells `onWritten` how many leading bytes are in the part
   * file as it goes (see RangeWriter.write), fewer when unsure.
   */
  writeRange(
    offset: number,
    length: number,
    body: AsyncIterable<Uint8Array>,
    signal: AbortSignal | undefined,
    onWritten: ((bytes: number) => void) | undefined,
    checksum: RangeChecksum | undefined,
  ): Promise<{ received: number; checksum?: string | undefined }>;
  /** Bytes the part file holds now (after everything written to it is flushed). */
  partSize(): Promise<number>;
  /** Checksums of ranges of the part file, computed where it lies. */
  digest: DigestRanges;
  /** The checksums besides MD5 that `digest` computes cheaply (see RangeWriter.checksums). */
  checksums: readonly RangeChecksum[];
  /** Moves the finished part file onto the target. */
  publish(): Promise<void>;
  /** Removes the part file. */
  remove(): Promise<void>;
  /** Releases what the writer holds open, once no range writes any more; called at most once. */
  release?(): Promise<void>;
  /** Errors become StowageErrors of this system, operation "write". */
  guard<T>(run: () => Promise<T>): Promise<T>;
}

/**
 * A RangeWriter over a part file, the same for every system that writes part files: it checks each
 * range's length and the whole size before publishing, and `abort`/`keep` wait for the ranges
 * still writing so nothing writes to the part file after they settle.
 */
export function partRangeWriter(ranges: PartRanges): RangeWriter {
  const { system, target } = ranges;
  const failure = (code: "Conflict" | "InvalidInput", message: string) =>
    new StowageError({ code, retryable: code === "Conflict", system, operation: "write", path: target, message });
  const writing = new Set<Promise<unknown>>();
  let released: Promise<void> | undefined;
  const settle = async () => {
    await Promise.allSettled([...writing]);
    await (released ??= ranges.release?.() ?? Promise.resolve()).catch(() => {});
  };
  return {
    state: partialState(target, ranges.part, "partial-ranges"),
    checksums: ranges.checksums,
    write: (offset, length, body, options = {}) => {
      const run = ranges.guard(async () => {
        // Never past the range: a body that runs long fails the range, and its excess is no progress.
        const onWritten = options.onWritten && ((bytes: number) => options.onWritten!(Math.min(bytes, length)));
        const { received, checksum } = await ranges.writeRange(offset, length, body, options.signal, onWritten, options.checksum);
        if (received > length) throw failure("InvalidInput", `range at ${offset} got more than ${length} bytes`);
        if (received !== length) throw failure("Conflict", `range at ${offset} got ${received} of ${length} bytes`);
        return checksum === undefined ? {} : { checksum };
      });
      writing.add(run);
      void run.finally(() => writing.delete(run)).catch(() => {});
      return run;
    },
    // Ranges whose writes have resolved are in the part file: a digest of them need not wait for the others.
    digest: (spans, options) => ranges.guard(() => ranges.digest(spans, options)),
    commit: () =>
      ranges.guard(async (): Promise<WriteResult> => {
        await (released ??= ranges.release?.() ?? Promise.resolve());
        const held = await ranges.partSize();
        if (held !== ranges.size) throw failure("Conflict", `the part file holds ${held} bytes, not ${ranges.size}`);
        await ranges.publish();
        return { path: target, size: held };
      }),
    abort: async () => {
      await settle();
      await ranges.remove().catch(() => {});
    },
    keep: settle,
  };
}

/**
 * Runs a write's `beforePublish` check on its finished part file. A part file that fails it is
 * removed here, since what it holds is wrong somewhere and a later attempt must not resume it.
 */
export async function checkBeforePublish(options: WriteOptions, digest: DigestRanges, remove: () => Promise<unknown>): Promise<void> {
  if (!options.beforePublish) return;
  try {
    await options.beforePublish(digest);
  } catch (error) {
    await remove().catch(() => {});
    throw error;
  }
}
