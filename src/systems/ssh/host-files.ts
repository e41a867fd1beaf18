/**
 * The SFTP steps every SSH transport shares: where a part file goes, creating it, publishing it
 * onto its target by rename, mkdir -p, and a system path as a path on the host.
 */
import { randomBytes } from "node:crypto";
import { addAbortSignal, type Readable } from "node:stream";
import type { Stats } from "ssh2";
import { StowageError } from "../../errors.js";
import { bytesOf, isBytes, readAll, toReadable } from "../body.js";
import type { Stat, WriteBody } from "../contract.js";
import { PART_SUFFIX } from "../partial.js";
import { baseName, parentPath } from "../paths.js";
import type { Session } from "./connect.js";
import { SFTP_STATUS } from "./errors.js";
import { isStatus, pipelinedReader, type SftpClient } from "./sftp-io.js";
import { childPath } from "./tree.js";

/** SFTP write requests in flight per write (each up to 255 KiB). */
export const WRITE_CONCURRENCY = 16;
/** SFTP read requests in flight per read stream. */
export const READ_CONCURRENCY = 16;

export function toStat(path: string, stats: Stats): Stat {
  const isDirectory = stats.isDirectory();
  return { path, type: isDirectory ? "directory" : "file", size: isDirectory ? 0 : stats.size, mtime: new Date(stats.mtime * 1000) };
}

/** A system path as a path on the host ("/~/x" is below the login directory). */
export function onHost(session: Session, path: string): string {
  if (path === "/~") return session.home;
  if (path.startsWith("/~/")) return childPath(session.home, path.slice(3));
  return path;
}

/** A part-file name beside `remote` that cannot collide, and stays within NAME_MAX (255 bytes). */
export function partPathFor(remote: string): string {
  let name = baseName(remote);
  while (Buffer.byteLength(name) > 200) name = Array.from(name).slice(0, -1).join("");
  return childPath(parentPath(remote), `.${name}.${randomBytes(8).toString("hex")}${PART_SUFFIX}`);
}

/** Creates the part file exclusively, creating its parent directories when they are missing. */
export async function createPart(sftp: SftpClient, part: string): Promise<Buffer> {
  try {
    return await sftp.open(part, "wx");
  } catch (error) {
    if (!isStatus(error, SFTP_STATUS.NO_SUCH_FILE)) throw error;
    await mkdirs(sftp, parentPath(part));
    return sftp.open(part, "wx");
  }
}

/** Renames a finished part file onto its target, replacing it only when `overwrite`. */
export async function publish(sftp: SftpClient, part: string, remote: string, target: string, overwrite: boolean, operation: string): Promise<void> {
  try {
    if (overwrite) await sftp.posixRename(part, remote);
    else await sftp.rename(part, remote);
  } catch (error) {
    // FAILURE is the errno catch-all: find out what stood in the way.
    if (!isStatus(error, SFTP_STATUS.FAILURE, SFTP_STATUS.FILE_ALREADY_EXISTS)) throw error;
    const existing = await sftp.statOrUndefined(remote);
    if (existing?.isDirectory()) throw new StowageError({ code: "IsADirectory", system: "ssh", operation, path: target, cause: error });
    if (existing && !overwrite) throw alreadyExists(operation, target, error);
    throw error;
  }
}

/** mkdir -p over SFTP. */
export async function mkdirs(sftp: SftpClient, remote: string): Promise<void> {
  try {
    await sftp.mkdir(remote);
    return;
  } catch (error) {
    const existing = await sftp.statOrUndefined(remote);
    if (existing?.isDirectory()) return;
    if (existing) throw Object.assign(new Error(`${remote} exists and is not a directory`, { cause: error }), { code: "ENOTDIR" });
    if (!isStatus(error, SFTP_STATUS.NO_SUCH_FILE) || remote === "/") throw error;
  }
  await mkdirs(sftp, parentPath(remote));
  await mkdirs(sftp, remote);
}

/** A whole file on the host, read with pipelined requests. */
export async function readWhole(sftp: SftpClient, remote: string): Promise<Buffer> {
  const handle = await sftp.open(remote, "r");
  let size: number;
  try {
    size = (await sftp.fstat(handle)).size;
  } catch (error) {
    await sftp.close(handle).catch(() => {});
    throw error;
  }
  return readAll(pipelinedReader(sftp, handle, 0, size, READ_CONCURRENCY));
}

/** Bytes as they are (sent without copying); anything else as a stream that ends on abort. */
export function writeSource(body: WriteBody, signal: AbortSignal | undefined): Buffer | Readable {
  if (isBytes(body)) return bytesOf(body);
  const stream = toReadable(body);
  if (signal) addAbortSignal(signal, stream);
  return stream;
}

/** The deepest directory that is or holds each of `directories`. */
export function commonDirectory(directories: readonly string[]): string {
  let common = directories[0] ?? "/";
  for (const directory of directories) {
    while (common !== "/" && directory !== common && !directory.startsWith(`${common}/`)) common = parentPath(common);
  }
  return common;
}

export function alreadyExists(operation: string, path: string, cause?: unknown): StowageError {
  return new StowageError({ code: "AlreadyExists", system: "ssh", operation, path, cause });
}
