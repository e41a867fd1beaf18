/**
 * MD5s of ranges of a file on the host, to check a part file before it is published: `md5sum`
 * runs on the host (on an exec channel of the connection's budget, ./exec-channels.ts), so only
 * the digests cross the connection. A host without it (no POSIX shell, no coreutils) sends the
 * bytes back over SFTP and they are hashed here.
 */
import { createHash } from "node:crypto";
import type { Client } from "ssh2";
import type { ByteSpan } from "../contract.js";
import type { Session } from "./connect.js";
import { runCommand, shellQuote } from "./exec.js";
import { READ_CONCURRENCY } from "./host-files.js";
import { pipelinedReader } from "./sftp-io.js";

/** Ranges hashed at once on the host (a multi-stream file has a few; a composite ETag may have many parts). */
const PARALLEL = 4;

/** One line per range, "<index> <md5>  -", each printed whole by one echo so parallel jobs never mix. */
function digestCommand(file: string, ranges: readonly ByteSpan[]): string {
  const path = shellQuote(file);
  const jobs = ranges.map(({ offset, length }, index) => {
    const bytes = offset === 0 ? `head -c ${length} ${path}` : `tail -c +${offset + 1} ${path} | head -c ${length}`;
    const job = `( sum=$(${bytes} | md5sum) && echo "${index} $sum" ) &`;
    return (index + 1) % PARALLEL === 0 ? `${job} wait;` : job;
  });
  return `command -v md5sum >/dev/null || exit 3; ${jobs.join(" ")} wait`;
}

/**
 * The digests md5sum on the host gives, or undefined where it cannot (no md5sum, not a POSIX
 * shell, the channel refused): the caller reads the bytes back then.
 */
export async function md5sumOnHost(client: Client, file: string, ranges: readonly ByteSpan[], signal: AbortSignal | undefined): Promise<string[] | undefined> {
  const result = await runCommand(client, digestCommand(file, ranges), signal ? { signal } : {}).catch((error: unknown) => {
    if (signal?.aborted) throw error;
    return undefined;
  });
  if (result?.code !== 0) return undefined;
  const sums: string[] = [];
  for (const line of result.stdout.toString("utf8").split("\n")) {
    const match = /^(\d+) ([0-9a-f]{32})\b/.exec(line);
    if (match) sums[Number(match[1])] = match[2]!;
  }
  return ranges.every((_, index) => sums[index] !== undefined) ? sums : undefined;
}

/** The digests of ranges of a file on the host, its bytes read back over SFTP and hashed here. */
export async function readBackDigests(session: Session, file: string, ranges: readonly ByteSpan[]): Promise<string[]> {
  const sums: string[] = [];
  for (const { offset, length } of ranges) {
    const sftp = session.pool.pick();
    const hash = createHash("md5");
    if (length > 0) {
      // The reader closes the handle once it has read to the end or failed.
      const handle = await sftp.open(file, "r");
      for await (const chunk of pipelinedReader(sftp, handle, offset, offset + length, READ_CONCURRENCY)) hash.update(chunk as Buffer);
    }
    sums.push(hash.digest("hex"));
  }
  return sums;
}
