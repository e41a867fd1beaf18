/** Directory walks over SFTP: reading a directory in batches, listing trees, removing trees. */
import type { FileEntryWithStats, Stats } from "ssh2";
import { isPartFile } from "../partial.js";
import { SFTP_STATUS } from "./errors.js";
import { isStatus, type SftpClient } from "./sftp-io.js";

/** Directories read at once while walking a tree. */
const WALK_CONCURRENCY = 8;
/** Entries a walk buffers ahead of its consumer before pausing. */
const WALK_AHEAD = 2_000;
/** Unlink requests in flight while removing a tree. */
const UNLINK_CONCURRENCY = 32;

export const childPath = (dir: string, name: string) => (dir === "/" ? `/${name}` : `${dir}/${name}`);

/**
 * A directory's entries, one server batch at a time, without in-progress part files unless
 * `withParts`. A directory that is missing (or is not a directory) yields nothing. The handle is
 * closed however the iteration ends.
 */
export async function* readdirBatches(sftp: SftpClient, remoteDir: string, withParts = false): AsyncGenerator<FileEntryWithStats[]> {
  let handle: Buffer;
  try {
    handle = await sftp.opendir(remoteDir);
  } catch (error) {
    // OpenSSH reports ENOENT and ENOTDIR alike as NO_SUCH_FILE.
    if (isStatus(error, SFTP_STATUS.NO_SUCH_FILE)) return;
    throw error;
  }
  try {
    for (;;) {
      const batch = await sftp.readdirBatch(handle);
      if (!batch) return;
      yield withParts ? batch : batch.filter((entry) => !isPartFile(entry.filename));
    }
  } finally {
    await sftp.close(handle).catch(() => {});
  }
}

/** What a directory entry is, following a symlink once; undefined for a dangling link. */
export async function resolveEntry(sftp: SftpClient, remotePath: string, attrs: Stats): Promise<Stats | undefined> {
  if (!attrs.isSymbolicLink()) return attrs;
  try {
    return await sftp.stat(remotePath);
  } catch (error) {
    if (isStatus(error, SFTP_STATUS.NO_SUCH_FILE)) return undefined;
    throw error;
  }
}

export interface WalkedFile {
  /** Path in the caller's form (below the root the caller gave). */
  path: string;
  stats: Stats;
}

/**
 * Every file below `root`, reading up to WALK_CONCURRENCY directories at once. Symlinks to files
 * are reported as files; symlinked directories are not entered (no cycles). Order is not sorted.
 */
export async function* walkFiles(sftp: SftpClient, root: { path: string; remote: string }, signal?: AbortSignal): AsyncGenerator<WalkedFile> {
  const pendingDirs = [root];
  const ready: WalkedFile[] = [];
  let active = 0;
  let failure: unknown;
  let stopped = false;
  let wakeConsumer = () => {};
  let wakeProducers: Array<() => void> = [];
  const releaseProducers = () => {
    const waiting = wakeProducers;
    wakeProducers = [];
    for (const wake of waiting) wake();
  };

  const readOne = async (dir: { path: string; remote: string }) => {
    for await (const batch of readdirBatches(sftp, dir.remote)) {
      for (const entry of batch) {
        const path = childPath(dir.path, entry.filename);
        const remote = childPath(dir.remote, entry.filename);
        if (entry.attrs.isDirectory()) {
          pendingDirs.push({ path, remote });
          continue;
        }
        const stats = await resolveEntry(sftp, remote, entry.attrs);
        if (stats && !stats.isDirectory()) ready.push({ path, stats });
      }
      wakeConsumer();
      launch();
      while (ready.length >= WALK_AHEAD && !stopped) await new Promise<void>((resolve) => wakeProducers.push(resolve));
      if (stopped) return;
    }
  };
  const launch = () => {
    while (failure === undefined && !stopped && active < WALK_CONCURRENCY && pendingDirs.length > 0) {
      const dir = pendingDirs.pop()!;
      active++;
      readOne(dir)
        .catch((error: unknown) => void (failure ??= error))
        .finally(() => {
          active--;
          launch();
          wakeConsumer();
        });
    }
  };

  try {
    launch();
    for (;;) {
      signal?.throwIfAborted();
      if (failure !== undefined) throw failure;
      if (ready.length > 0) {
        const batch = ready.splice(0);
        releaseProducers();
        yield* batch;
        continue;
      }
      if (active === 0 && pendingDirs.length === 0) return;
      await new Promise<void>((resolve) => (wakeConsumer = resolve));
    }
  } finally {
    stopped = true;
    releaseProducers();
  }
}

/** Removes a directory and everything below it, with many unlinks in flight. Missing is fine. */
export async function removeTree(sftp: SftpClient, remoteDir: string, signal?: AbortSignal): Promise<void> {
  const subdirs: string[] = [];
  const inflight = new Set<Promise<void>>();
  let failure: unknown;
  for await (const batch of readdirBatches(sftp, remoteDir, true)) {
    if (failure !== undefined) break;
    for (const entry of batch) {
      signal?.throwIfAborted();
      const remote = childPath(remoteDir, entry.filename);
      if (entry.attrs.isDirectory()) {
        subdirs.push(remote);
        continue;
      }
      while (inflight.size >= UNLINK_CONCURRENCY) await Promise.race(inflight);
      const unlink = ignoreMissing(sftp.unlink(remote)).then(
        () => void inflight.delete(unlink),
        (error: unknown) => {
          inflight.delete(unlink);
          failure ??= error;
        },
      );
      inflight.add(unlink);
    }
  }
  await Promise.all(inflight);
  if (failure !== undefined) throw failure;
  for (const subdir of subdirs) await removeTree(sftp, subdir, signal);
  await ignoreMissing(sftp.rmdir(remoteDir));
}

export async function ignoreMissing(operation: Promise<void>): Promise<void> {
  try {
    await operation;
  } catch (error) {
    if (!isStatus(error, SFTP_STATUS.NO_SUCH_FILE)) throw error;
  }
}
