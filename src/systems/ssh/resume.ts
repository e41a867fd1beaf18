/** Continuing a stream write cut by a failure that may pass, from the part file it kept (../partial.ts). */
import type { Readable } from "node:stream";
import { StowageError } from "../../errors.js";
import type { ResumableUploads, UploadCheckpoint, UploadState, WriteResult } from "../contract.js";
import { worthKeeping } from "../guard.js";
import { anyPartOf, partOf, resumableBytes } from "../partial.js";
import { normalizePath } from "../paths.js";
import type { SshConnection } from "./connect.js";
import { mapSshError, SFTP_STATUS } from "./errors.js";
import { guard } from "./guard.js";
import { onHost, publish, WRITE_CONCURRENCY } from "./host-files.js";
import { isStatus, pipelinedWrite, type SftpClient } from "./sftp-io.js";
import { ignoreMissing } from "./tree.js";

/** How much of an unfinished upload a host still holds, and dropping it. */
export function resumableUploads(connection: SshConnection): ResumableUploads {
  const locate = async (target: string) => {
    const session = await connection.session();
    return { sftp: session.pool.pick(), remote: onHost(session, target) };
  };
  return {
    offset: (path: string, state: UploadState, options: { size: number }) => {
      const target = normalizePath(path);
      return guard("resume", target, async () => {
        const { sftp, remote } = await locate(target);
        const part = partOf(target, state, remote);
        const held = part ? ((await sftp.statOrUndefined(part))?.size ?? 0) : 0;
        return resumableBytes(held, options.size);
      });
    },
    discard: (path: string, state: UploadState) => {
      const target = normalizePath(path);
      return guard("discard", target, async () => {
        const { sftp, remote } = await locate(target);
        const part = anyPartOf(target, state, remote);
        if (part) await ignoreMissing(sftp.unlink(part));
      });
    },
  };
}

/** Continues a kept part file: what it holds past the offset is cut, the body goes after it. */
export async function resumeWrite(
  sftp: SftpClient,
  remote: string,
  target: string,
  resume: NonNullable<UploadCheckpoint["resume"]>,
  source: Buffer | Readable,
  overwrite: boolean,
  signal: AbortSignal | undefined,
  /** The write's beforePublish check of the finished part file (removes it when it fails). */
  check: (part: string) => Promise<void>,
): Promise<WriteResult> {
  const part = partOf(target, resume.state, remote);
  if (!part)
    throw new StowageError({
      code: "InvalidInput",
      system: "ssh",
      operation: "write",
      path: target,
      message: "the write to resume is not a partial file of this target",
    });
  const gone = (message: string, cause?: unknown) =>
    new StowageError({ code: "Conflict", retryable: true, system: "ssh", operation: "write", path: target, message, cause });
  const handle = await sftp.open(part, "r+").catch((error: unknown) => {
    throw isStatus(error, SFTP_STATUS.NO_SUCH_FILE) ? gone("the partial file to resume is gone", error) : error;
  });
  try {
    const held = (await sftp.fstat(handle)).size ?? 0;
    if (held < resume.offset) throw gone(`the partial file holds ${held} bytes, not ${resume.offset}`);
    await sftp.truncate(handle, resume.offset);
    const sent = await pipelinedWrite(sftp, handle, source, WRITE_CONCURRENCY, signal, resume.offset);
    await sftp.close(handle);
    signal?.throwIfAborted();
    await check(part);
    await publish(sftp, part, remote, target, overwrite, "write");
    return { path: target, size: resume.offset + sent };
  } catch (error) {
    await sftp.close(handle).catch(() => {});
    if (!worthKeeping(error, "ssh", mapSshError, signal)) await sftp.unlink(part).catch(() => {});
    throw error;
  }
}
