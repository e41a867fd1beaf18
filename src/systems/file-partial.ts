/**
 * Resumable writes on the local disk, as rsync's --partial: a stream write that fails in a way that
 * may pass keeps its part file (hidden beside the target, never under the target's name), and a
 * later attempt appends the rest to it and renames it into place.
 */
import { randomBytes } from "node:crypto";
import { stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { UploadState } from "./contract.js";
import { baseName } from "./paths.js";

/** Files being written are named like this beside their target; listings hide them. */
export const PART_SUFFIX = ".stowage-part";
export const isPartFile = (name: string) => name.startsWith(".") && name.endsWith(PART_SUFFIX);
export const partPathFor = (path: string) => join(dirname(path), `.${baseName(path)}.${randomBytes(6).toString("hex")}${PART_SUFFIX}`);

export function partialState(path: string, part: string): UploadState {
  return { kind: "file-partial", path, part };
}

/**
 * The part file of a state that describes a write of `path`. Only a part file beside the target
 * and named for it is accepted, so a state can never point a resume or a discard at another file.
 */
export function partOf(path: string, state: UploadState): string | undefined {
  const { kind, part } = state;
  if (kind !== "file-partial" || state.path !== path || typeof part !== "string") return undefined;
  const name = basename(part);
  const ours = dirname(part) === dirname(path) && isPartFile(name) && name.startsWith(`.${baseName(path)}.`);
  return ours ? part : undefined;
}

/** Bytes the part file holds, short of the whole `size` (a resume always writes something). */
export async function partialBytes(part: string, size: number): Promise<number> {
  const held = await stat(part).then(
    (stats) => stats.size,
    () => 0,
  );
  return Math.max(0, Math.min(held, size - 1));
}
