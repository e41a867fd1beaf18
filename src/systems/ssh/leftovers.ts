/**
 * What a Stowage process killed mid-write leaves on a host: part files (`.name.<hex>.stowage-part`)
 * and batch staging directories (`.stowage-batch-<nonce>.stowage-part`) beside the targets. Nothing
 * else ever removes them, and listings hide them, so a later write into the same directory does:
 * whatever is named like a part file and was last modified over a day ago. A writer still running
 * touches its part file or staging directory as it goes, so it is never that old (the table
 * writer's rule for orphaned data files, ../../resources/table/).
 */
import type { Client } from "ssh2";
import { isPartFile } from "../partial.js";
import { type SftpClient } from "./sftp-io.js";
import { childPath, ignoreMissing, readdirBatches, removeTree } from "./tree.js";

/** A part file or staging directory untouched for this long belongs to a writer that died. */
export const ORPHAN_AGE_SECONDS = 24 * 60 * 60;

/**
 * Sweeps each directory once per connection: reading a large directory costs a round trip per 100
 * names, and orphans only appear when a process dies, so once is enough.
 */
export class OrphanSweeper {
  readonly #swept = new WeakMap<Client, Map<string, Promise<void>>>();

  /**
   * Removes the orphans in `remoteDir`, once per connection. `fresh` is an entry Stowage has just
   * created on the host: its mtime is the host's "now", so a clock difference between this machine
   * and the host cannot make a running writer's files look old. Never rejects: a sweep that fails
   * leaves the orphans for the next one.
   */
  sweep(client: Client, sftp: SftpClient, remoteDir: string, fresh: string): Promise<void> {
    let swept = this.#swept.get(client);
    if (!swept) this.#swept.set(client, (swept = new Map()));
    let sweeping = swept.get(remoteDir);
    if (!sweeping) swept.set(remoteDir, (sweeping = removeOrphans(sftp, remoteDir, fresh).catch(() => {})));
    return sweeping;
  }
}

/** Removes the part files and staging directories in `remoteDir` a day older than `fresh`. */
export async function removeOrphans(sftp: SftpClient, remoteDir: string, fresh: string): Promise<void> {
  const now = (await sftp.lstat(fresh)).mtime;
  for await (const batch of readdirBatches(sftp, remoteDir, true)) {
    for (const { filename, attrs } of batch) {
      if (!isPartFile(filename) || now - attrs.mtime <= ORPHAN_AGE_SECONDS) continue;
      const path = childPath(remoteDir, filename);
      // One that cannot be removed (another user's, say) must not keep the rest.
      if (attrs.isDirectory()) await removeTree(sftp, path).catch(() => {});
      else await ignoreMissing(sftp.unlink(path)).catch(() => {});
    }
  }
}
