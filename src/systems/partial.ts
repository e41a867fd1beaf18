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

/** The state that finds a kept part file again: `path` is the system path being written. */
export function partialState(path: string, part: string): UploadState {
  return { kind: "partial-file", path, part };
}

/**
 * The part file of a state that describes a write of `path` (at `where`, the path as the system's
 * host sees it). Only a part file beside the target is accepted, so a state can never point a
 * resume or a discard at any other file.
 */
export function partOf(path: string, state: UploadState, where = path): string | undefined {
  const { kind, part } = state;
  if (kind !== "partial-file" || state.path !== path || typeof part !== "string") return undefined;
  return parentPath(part) === parentPath(where) && isPartFile(baseName(part)) ? part : undefined;
}

/** The bytes to resume after, given what the part file holds: always short of the whole `size`. */
export function resumableBytes(held: number, size: number): number {
  return Math.max(0, Math.min(held, size - 1));
}
