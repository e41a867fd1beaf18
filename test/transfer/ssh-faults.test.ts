/**
 * Faults on the way to an SSH host: a TCP proxy in front of sshd cuts the connection while a large
 * file uploads. The upload fails with a retryable error and nothing under the file's name; a re-run
 * continues from the hidden part file the cut left on the host instead of starting over.
 */
import { randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TransferError, closeSystems, copy, folder } from "../../src/index.js";
import { sha256 } from "../support/measure.js";
import { tempDir } from "../support/process.js";
import { seededBytes } from "../support/seed.js";
import { sshThroughProxy } from "../support/ssh-proxy.js";
import type { TcpProxy } from "../support/tcp-proxy.js";

const MiB = 1 << 20;
const SIZE = 40 * MiB;
const big = seededBytes(SIZE, 41);

describe("uploads to an SSH host through a failing connection", () => {
  const host = "cut-proxy";
  let proxy: TcpProxy;
  let source: string;

  beforeAll(async () => {
    proxy = await sshThroughProxy(host);
    source = join(tempDir("ssh-faults"), "src");
    await folder(source).put({ "model.bin": big });
  });

  afterAll(async () => {
    await closeSystems();
    await proxy.close();
  });

  it("re-runs a cut upload from the part file it left on the host", async () => {
    // The host is this machine: the destination directory is readable directly.
    const onHost = join(process.env.STOWAGE_TEST_SSH_DIR!, `cut-${randomUUID()}`);
    const destination = `ssh://${host}${onHost}`;
    proxy.cutAfter(22 * MiB, { thenRefuse: true });
    const error = await copy(source, destination, { retries: 0 }).catch((e: unknown) => e);
    expect(proxy.cuts).toBe(1);
    expect(error).toBeInstanceOf(TransferError);
    expect((error as TransferError).retryable).toBe(true);
    proxy.refuse = false;
    await closeSystems();
    const parts = (await readdir(onHost)).filter((name) => name.endsWith(".stowage-part"));
    expect(parts).toHaveLength(1);
    expect(await readdir(onHost)).toEqual(parts);

    proxy.resetCounters();
    const rerun = await copy(source, destination);
    const resumed = rerun.copied[0]!.resumedBytes ?? 0;
    expect(resumed).toBeGreaterThanOrEqual(10 * MiB);
    // The rest, plus SSH's framing and handshake.
    expect(proxy.bytesUp).toBeLessThan(SIZE - resumed + 2 * MiB);
    expect(sha256(await readFile(join(onHost, "model.bin")))).toBe(sha256(big));
    expect(await readdir(onHost)).toEqual(["model.bin"]);
  });
});
