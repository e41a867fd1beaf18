/**
 * Part files, shared by the systems that write them (file, ssh): a write goes to a hidden part file
 * beside its target and is renamed into place. A stream write cut by a failure that may pass keeps
 * its part file (as rsync's --partial) and a later attempt appends the rest to it.
 */
import type { UploadState } from "./contract.js";
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

/** The part file of either kind of state, for discarding it. */
export function anyPartOf(path: string, state: UploadState, where = path): string | undefined {
  return partOf(path, state, where) ?? partOf(path, state, where, "partial-ranges");
}

/** The bytes to resume after, given what the part file holds: always short of the whole `size`. */
export function resumableBytes(held: number, size: number): number {
  return Math.max(0, Math.min(held, size - 1));
}
