/**
 * A copy from a bucket into an SSH host runs on that host: Stowage's runner there pulls from the
 * bucket and writes to the host's disk, and the caller's SSH connection carries only control
 * traffic. A copy between two folders of one host runs `cp` there. As in ssh-remote.test.ts, the
 * host is this machine behind a counting TCP proxy, so what lands is checked on the local disk.
 */
import { randomUUID } from "node:crypto";
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildRunner } from "../../scripts/build-runner.js";
import { closeSystems, copy, folder, openSystem, type TransferReport } from "../../src/index.js";
import { expectCode } from "../../src/testing/index.js";
import { WIRE_PROTOCOL } from "../../src/transfer/wire.js";
import { full } from "../support/full-system.js";
import { binWithoutNode, execCallsDuring, withHostPath } from "../support/host-path.js";
import { sha256, sha256Of } from "../support/measure.js";
import { withRunnerCacheLock } from "../support/runner-cache-lock.js";
import { seededBytes, seededStream } from "../support/seed.js";
import { sshThroughProxy } from "../support/ssh-proxy.js";
import type { TcpProxy } from "../support/tcp-proxy.js";

const MiB = 1 << 20;
const BIG = 200 * MiB;
const SMALL_COUNT = 1_000;
const SMALL_SIZE = 16 << 10;
/** The share of the copied bytes the caller's SSH connection may carry when the host copies. */
const CONTROL_SHARE = 0.02;
const LONG = 600_000;

const smallFiles = new Map<string, Buffer>();
for (let i = 0; i < SMALL_COUNT; i++) smallFiles.set(`d${i % 10}/f${String(i).padStart(4, "0")}.bin`, seededBytes(SMALL_SIZE, 1_000 + i));

describe("bucket → ssh runs on the destination host", () => {
  let proxy: TcpProxy;
  let bucketRoot: string;
  let bigSha256: string;
  const host = "via-proxy";
  const sshDir = () => process.env.STOWAGE_TEST_SSH_DIR!;
  const onHost = (dir: string) => ({ system: "ssh", host, path: dir });
  const freshDir = (name: string) => join(sshDir(), `${name}-${randomUUID()}`);

  /** Bytes through the caller's SSH connection during `body`, logged beside the bytes copied. */
  async function measured(what: string, bytes: number, body: () => Promise<TransferReport>): Promise<{ report: TransferReport; share: number }> {
    const { report, crossed } = await withRunnerCacheLock(async () => {
      proxy.resetCounters();
      const report = await body();
      return { report, crossed: proxy.bytesUp + proxy.bytesDown };
    });
    const share = crossed / bytes;
    console.log(`[ssh-remote-into-host] ${what}: ${bytes} bytes copied; ${crossed} bytes crossed the caller's SSH connection (${(share * 100).toFixed(2)}%)`);
    return { report, share };
  }

  beforeAll(async () => {
    delete process.env.STOWAGE_REMOTE_COMMAND;
    // This checkout's runner, built from the source under test.
    await buildRunner();
    proxy = await sshThroughProxy(host);
    bucketRoot = `s3://stowage-test/into-host-${randomUUID()}`;
    const seeded = seededStream(BIG, 41);
    const s3 = full(await openSystem(bucketRoot));
    await s3.write(`${bucketRoot.replace("s3://", "/")}/big/big.bin`, seeded.stream);
    bigSha256 = seeded.sha256();
    await folder(`${bucketRoot}/small`).put(Object.fromEntries(smallFiles));
    // The first copy installs the runner in the host's cache (the bundle crosses once per version).
    const warm = await copy(`${bucketRoot}/small`, onHost(freshDir("warm")), { include: ["d0/f0000.bin"] });
    expect(warm.ranOn).toEqual(["remote-host"]);
  }, LONG);

  afterAll(async () => {
    delete process.env.STOWAGE_REMOTE_COMMAND;
    await folder(bucketRoot)
      .rm()
      .catch(() => {});
    await closeSystems();
    await proxy.close();
  }, LONG);

  it(
    "pulls a 200 MiB file from S3 on the host, with under 2% of it through the caller's connection",
    async () => {
      const target = freshDir("pull-big");
      const { report, share } = await measured("s3 → ssh, 1 × 200 MiB", BIG, () => copy(`${bucketRoot}/big`, onHost(target)));
      expect(report.ranOn).toEqual(["remote-host"]);
      expect(report.host).toBe(host);
      expect(report.fallback).toBeUndefined();
      expect(report.copied).toEqual([{ path: "big.bin", bytes: BIG }]);
      expect(share).toBeLessThan(CONTROL_SHARE);
      expect(await sha256Of(createReadStream(join(target, "big.bin")))).toEqual({ sha256: bigSha256, size: BIG });
      rmSync(target, { recursive: true, force: true });
    },
    LONG,
  );

  it(
    "pulls 1,000 small files from S3 on the host, with under 2% of them through the caller's connection",
    async () => {
      const target = freshDir("pull-small");
      const events: string[] = [];
      const total = SMALL_COUNT * SMALL_SIZE;
      const { report, share } = await measured(`s3 → ssh, ${SMALL_COUNT} × ${SMALL_SIZE >> 10} KiB`, total, () =>
        copy(`${bucketRoot}/small`, onHost(target), { onProgress: (e) => e.type === "file" && events.push(e.path) }),
      );
      expect(report.ranOn).toEqual(["remote-host"]);
      expect(report.copied.length).toBe(SMALL_COUNT);
      expect(report.bytes).toBe(total);
      expect(events.length).toBe(SMALL_COUNT); // progress comes back from the host
      expect(share).toBeLessThan(CONTROL_SHARE);
      for (const [name, content] of smallFiles) expect(sha256(readFileSync(join(target, name))), name).toBe(sha256(content));
    },
    LONG,
  );

  it("sends the bucket as a URL with its credentials, and the host's folder as a path, on stdin only", async () => {
    const target = freshDir("request");
    const calls = await execCallsDuring({ system: "ssh", host, path: "/" }, () =>
      copy(`${bucketRoot}/small`, onHost(target), { include: ["d1/**"], retries: 5 }),
    );
    const copyCall = calls.find((c) => c.stdin.length > 0)!;
    expect(copyCall).toBeDefined();
    const request = JSON.parse(copyCall.stdin) as { protocol: number; source: unknown; destination: unknown; options: unknown; env: Record<string, string> };
    expect(request.protocol).toBe(WIRE_PROTOCOL);
    expect(request.source).toEqual({ url: `${bucketRoot}/small` });
    expect(request.destination).toEqual({ path: target });
    expect(request.options).toEqual({ include: ["d1/**"], retries: 5 });
    // The source's credentials (the caller's, or narrower ones minted for this copy) go on stdin, never in the command.
    const secret = request.env.AWS_SECRET_ACCESS_KEY!;
    expect(secret.length).toBeGreaterThan(0);
    expect(copyCall.command).not.toContain(secret);
    expect(sha256(readFileSync(join(target, "d1", "f0001.bin")))).toBe(sha256(smallFiles.get("d1/f0001.bin")!));
  });

  it(
    "streams through the caller when the host's PATH has no node and shipping Node is off, and says what to install",
    async () => {
      await closeSystems(); // a new connection: what a host has is asked once per connection
      const target = freshDir("no-node");
      proxy.resetCounters();
      process.env.STOWAGE_SHIP_NODE = "0";
      const report = await withHostPath(host, binWithoutNode(), () => copy(`${bucketRoot}/small`, onHost(target), { include: ["d2/**"] })).finally(() => {
        delete process.env.STOWAGE_SHIP_NODE;
      });
      expect(report.ranOn).toEqual(["caller"]);
      expect(report.fallback).toMatch(/Node\.js 20/);
      expect(report.copied.length).toBe(SMALL_COUNT / 10);
      expect(proxy.bytesUp).toBeGreaterThan(report.bytes); // the files went up the caller's connection
      expect(sha256(readFileSync(join(target, "d2", "f0002.bin")))).toBe(sha256(smallFiles.get("d2/f0002.bin")!));
      await closeSystems(); // the next tests get a connection whose probe sees the real PATH
    },
    LONG,
  );

  it("streams through the caller when the host cannot run Stowage, and says why", async () => {
    process.env.STOWAGE_REMOTE_COMMAND = "/nonexistent/stowage";
    try {
      const target = freshDir("fallback");
      const report = await copy(`${bucketRoot}/small`, onHost(target), { include: ["d3/**"] });
      expect(report.ranOn).toEqual(["caller"]);
      expect(report.fallback).toMatch(/STOWAGE_REMOTE_COMMAND/);
      expect(sha256(readFileSync(join(target, "d3", "f0003.bin")))).toBe(sha256(smallFiles.get("d3/f0003.bin")!));
    } finally {
      delete process.env.STOWAGE_REMOTE_COMMAND;
    }
  });

  it("fails with Unsupported, writing nothing, when running on the host is required but impossible", async () => {
    process.env.STOWAGE_REMOTE_COMMAND = "/nonexistent/stowage";
    try {
      const target = freshDir("required");
      await expectCode(copy(`${bucketRoot}/small`, onHost(target), { remote: "require" }), "Unsupported");
      expect(existsSync(target)).toBe(false);
    } finally {
      delete process.env.STOWAGE_REMOTE_COMMAND;
    }
  });

  it("remote: never streams through the caller without a fallback to report", async () => {
    const target = freshDir("never");
    const report = await copy(`${bucketRoot}/small`, onHost(target), { include: ["d4/**"], remote: "never" });
    expect(report.ranOn).toEqual(["caller"]);
    expect(report.fallback).toBeUndefined();
  });

  it(
    "copies between two folders of one host on the host, with under 2% of a 200 MiB file through the caller's connection",
    async () => {
      const source = freshDir("same-host-source");
      mkdirSync(source, { recursive: true });
      const seeded = seededStream(BIG, 43);
      await pipeline(seeded.stream, createWriteStream(join(source, "big.bin")));
      writeFileSync(join(source, "small.txt"), "small\n");
      const target = freshDir("same-host-target");
      const { report, share } = await measured("ssh → same ssh, 1 × 200 MiB", BIG, () => copy(onHost(source), onHost(target)));
      expect(report.ranOn).toEqual(["remote-host"]);
      expect(report.fallback).toBeUndefined();
      expect(report.copied.map((f) => f.path).sort()).toEqual(["big.bin", "small.txt"]);
      expect(share).toBeLessThan(CONTROL_SHARE);
      expect(await sha256Of(createReadStream(join(target, "big.bin")))).toEqual({ sha256: seeded.sha256(), size: BIG });
      expect(readFileSync(join(target, "small.txt"), "utf8")).toBe("small\n");
      rmSync(source, { recursive: true, force: true });
      rmSync(target, { recursive: true, force: true });
    },
    LONG,
  );

  it(
    "copies many small files between two folders of one host on the host, with under 2% of them through the caller's connection",
    async () => {
      const source = freshDir("same-host-small");
      for (const [name, content] of smallFiles) {
        mkdirSync(join(source, name, ".."), { recursive: true });
        writeFileSync(join(source, name), content);
      }
      const target = freshDir("same-host-small-target");
      const total = SMALL_COUNT * SMALL_SIZE;
      const { report, share } = await measured(`ssh → same ssh, ${SMALL_COUNT} × ${SMALL_SIZE >> 10} KiB`, total, () => copy(onHost(source), onHost(target)));
      expect(report.ranOn).toEqual(["remote-host"]);
      expect(report.copied.length).toBe(SMALL_COUNT);
      // The runner lists and copies there: what crosses is the request and the report.
      expect(share).toBeLessThan(CONTROL_SHARE);
      for (const [name, content] of smallFiles) expect(sha256(readFileSync(join(target, name))), name).toBe(sha256(content));
      // One file between two places of the host stays a server-side copy: no runner to start.
      const one = await copy(onHost(join(source, "d1", "f0001.bin")), onHost(join(`${target}-one`, "f.bin")));
      expect(one.ranOn).toEqual(["server-side"]);
      expect(sha256(readFileSync(`${target}-one/f.bin`))).toBe(sha256(smallFiles.get("d1/f0001.bin")!));
    },
    LONG,
  );
});
