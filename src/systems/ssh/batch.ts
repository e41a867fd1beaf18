/**
 * Batch uploads of small files. A file per SFTP write costs four requests (open, write, close,
 * rename) that sftp-server answers one at a time. A batch instead travels as one tar archive,
 * written over SFTP into a hidden staging directory beside its targets; a shell loop on the host
 * unpacks it there with the host's tar; then each staged file is renamed onto its target over
 * SFTP (pipelined, one request per file), so each target still appears whole or not at all.
 * The unpacking runs in a command loop (./command-loop.ts) that lives as long as the connection.
 */
import { StowageError } from "../../errors.js";
import { PART_SUFFIX } from "../partial.js";
import type { CommandLoop } from "./command-loop.js";
import { childPath } from "./tree.js";

/** The name of a staged member: its index in the batch. */
export const stagedName = (index: number) => String(index);

/** The archive's name inside the staging directory. */
export const ARCHIVE_NAME = ".archive.tar";

/**
 * A hidden staging directory in `parent`; listings hide it as they hide part files, and a later
 * write into `parent` removes one a killed process left behind (./leftovers.ts).
 */
export function stagingPath(parent: string, nonce: string): string {
  return childPath(parent, `.stowage-batch-${nonce}${PART_SUFFIX}`);
}

/** The loop that unpacks batches: a staging directory per request, answered with tar's exit status. */
export const UNPACK_LOOP = `while IFS= read -r stage; do tar -x -m -f "$stage/${ARCHIVE_NAME}" -C "$stage" 2>/dev/null; printf '%s\\n' "$?"; done`;

/**
 * Unpacks `stage`/ARCHIVE_NAME into `stage` on a loop running UNPACK_LOOP. Rejects `Unsupported`
 * when the host has no tar (exit 127), `Unexpected` for any other failure of tar.
 */
export async function unpack(loop: CommandLoop, stage: string, count: number): Promise<void> {
  const { status } = await loop.request([stage], stage);
  if (status === 0) return;
  throw new StowageError({
    // 127: the shell found no tar.
    code: status === 127 ? "Unsupported" : "Unexpected",
    system: "ssh",
    operation: "write",
    path: stage,
    message: `tar on the host exited with ${status} unpacking a batch of ${count} files`,
  });
}
