/**
 * Checksums of ranges of a file on the host, to check a part file before it is published:
 * `md5sum` or POSIX `cksum` runs on the host (on an exec channel of the connection's budget,
 * ./exec-channels.ts), so only the checksums cross the connection. A host without them (no POSIX
 * shell, no coreutils) sends the bytes back over SFTP and they are checksummed here.
 */
import type { Client } from "ssh2";
import type { ByteSpan, RangeChecksum } from "../contract.js";
import { createRangeHash } from "../range-checksum.js";
import type { Session } from "./connect.js";
import { runCommand, spanCommand } from "./exec.js";
import { READ_CONCURRENCY } from "./host-files.js";
import { pipelinedReader } from "./sftp-io.js";

/** Ranges checksummed at once on the host (a multi-stream file has a few; a composite ETag may have many parts). */
const PARALLEL = 4;

/** The host's tool for each checksum it computes, and what one range's line looks like after its index. */
const TOOLS: Partial<Record<RangeChecksum, { command: string; line: RegExp }>> = {
  md5: { command: "md5sum", line: /^(\d+) ([0-9a-f]{32})\b/ },
  cksum: { command: "cksum", line: /^(\d+) (\d+ \d+)$/ },
};

/** One line per range, "<index> <checksum>", each printed whole by one echo so parallel jobs never mix. */
function checksumCommand(file: string, ranges: readonly ByteSpan[], tool: string): string {
  const jobs = ranges.map((range, index) => {
    const job = `( sum=$(${spanCommand(file, range)} | ${tool}) && echo "${index} $sum" ) &`;
    return (index + 1) % PARALLEL === 0 ? `${job} wait;` : job;
  });
  return `command -v ${tool} >/dev/null || exit 3; ${jobs.join(" ")} wait`;
}

/**
 * The checksums the host's md5sum or cksum gives, or undefined where it cannot (no such tool, not
 * a POSIX shell, the channel refused): the caller reads the bytes back then.
 */
export async function checksumsOnHost(
  client: Client,
  file: string,
  ranges: readonly ByteSpan[],
  checksum: RangeChecksum,
  signal: AbortSignal | undefined,
): Promise<string[] | undefined> {
  const tool = TOOLS[checksum];
  if (!tool) return undefined;
  const result = await runCommand(client, checksumCommand(file, ranges, tool.command), signal ? { signal } : {}).catch((error: unknown) => {
    if (signal?.aborted) throw error;
    return undefined;
  });
  if (result?.code !== 0) return undefined;
  const sums: string[] = [];
  for (const line of result.stdout.toString("utf8").split("\n")) {
    const match = tool.line.exec(line);
    if (match) sums[Number(match[1])] = match[2]!;
  }
  return ranges.every((_, index) => sums[index] !== undefined) ? sums : undefined;
}

/** The checksums of ranges of a file on the host, its bytes read back over SFTP and checksummed here. */
export async function readBackDigests(session: Session, file: string, ranges: readonly ByteSpan[], checksum: RangeChecksum): Promise<string[]> {
  const sums: string[] = [];
  for (const { offset, length } of ranges) {
    const sftp = session.pool.pick();
    const hash = createRangeHash(checksum);
    if (length > 0) {
      // The reader closes the handle once it has read to the end or failed.
      const handle = await sftp.open(file, "r");
      for await (const chunk of pipelinedReader(sftp, handle, offset, offset + length, READ_CONCURRENCY)) hash.update(chunk as Buffer);
    }
    sums.push(hash.digest());
  }
  return sums;
}
