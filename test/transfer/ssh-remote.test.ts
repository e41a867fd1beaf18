/**
 * A copy out of an SSH host runs on that host: the caller's SSH connection carries only control
 * traffic. The test host is this machine behind a counting TCP proxy, so we can see what crosses.
 * Stowage puts its own runner bundle into the host's cache (~/.cache/stowage/runner, here this
 * machine's) and runs it with the host's node: no registry, no STOWAGE_REMOTE_COMMAND.
 */
import { createHash, randomUUID } from "node:crypto";
import { chmodSync, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { buildRunner } from "../../scripts/build-runner.js";
import { closeSystems, folder, openSystem, type TransferReport } from "../../src/index.js";
import { expectCode } from "../../src/testing/index.js";
import { localRunner } from "../../src/transfer/runner-cache.js";
import { WIRE_PROTOCOL } from "../../src/transfer/wire.js";
import { binWithoutNode, execCallsDuring, withHostPath } from "../support/host-path.js";
import { sha256, sha256Of } from "../support/measure.js";
import { localRemoteCommand } from "../support/places.js";
import { lockRunnerCache, unlockRunnerCache } from "../support/runner-cache-lock.js";
import { tempDir } from "../support/process.js";
import { seededBytes, seededStream } from "../support/seed.js";
import { sshThroughProxy } from "../support/ssh-proxy.js";
import type { TcpProxy } from "../support/tcp-proxy.js";

const MiB = 1 << 20;
const files: Record<string, Buffer> = { "ckpt/model.bin": seededBytes(24 * MiB, 21), "ckpt/opt.bin": seededBytes(8 * MiB, 22), "meta.json": Buffer.from("{}") };
const total = Object.values(files).reduce((sum, b) => sum + b.length, 0);

const runnerDir = join(homedir(), ".cache", "stowage", "runner");
const sha256Hex = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

describe("ssh → bucket runs on the host", () => {
  let proxy: TcpProxy;
  let sourceDir: string;
  let runnerFile: string;
  let runnerSha256: string;
  const host = "via-proxy";

  beforeAll(async () => {
    const env = process.env;
    delete env.STOWAGE_REMOTE_COMMAND;
    // This checkout's runner, built from the source under test (the engine reads it once per process).
    await buildRunner();
    const runner = (await localRunner())!;
    runnerFile = join(runnerDir, runner.name);
    runnerSha256 = runner.sha256;
    expect(runnerSha256).toBe(sha256Hex(readFileSync(join("dist", "runner", "stowage-runner.mjs"))));
    proxy = await sshThroughProxy(host);
    // The data is written straight into the host's disk (this machine), not through the proxy.
    sourceDir = join(env.STOWAGE_TEST_SSH_DIR!, `remote-${randomUUID()}`);
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(join(sourceDir, name, ".."), { recursive: true });
      writeFileSync(join(sourceDir, name), content);
    }
  });

  afterAll(async () => {
    delete process.env.STOWAGE_REMOTE_COMMAND;
    await closeSystems();
    await proxy.close();
  });

  const source = () => folder({ system: "ssh", host, path: sourceDir });

  // These tests remove and tamper with the host's cached runner, and count bytes a reinstall would add.
  beforeEach(lockRunnerCache, 600_000);
  afterEach(unlockRunnerCache);

  it("puts its own runner into the host's cache and runs the copy there with the host's node", async () => {
    rmSync(runnerFile, { force: true });
    const dest = await source().to(`s3://stowage-test/install-${randomUUID()}`, { include: ["meta.json"] });
    expect(dest.report?.ranOn).toEqual(["remote-host"]);
    expect(dest.report?.host).toBe(host);
    expect(dest.report?.hostNode).toBe("host");
    expect(dest.report?.copied.map((f) => f.path)).toEqual(["meta.json"]);
    expect(sha256Hex(readFileSync(runnerFile))).toBe(runnerSha256);
    expect(runnerFile).toMatch(new RegExp(`stowage-runner-\\d+\\.\\d+\\.\\d+[^/]*-${runnerSha256.slice(0, 16)}\\.mjs$`));
  });

  it("copies to S3 from the host, with only control traffic through the caller's connection", async () => {
    proxy.resetCounters();
    const events: string[] = [];
    const dest = await source().to(`s3://stowage-test/remote-${randomUUID()}`, { onProgress: (e) => e.type === "file" && events.push(e.path) });
    expect(dest.report?.ranOn).toEqual(["remote-host"]);
    expect(dest.report?.copied.map((f) => f.path).sort()).toEqual(Object.keys(files).sort());
    expect(events.sort()).toEqual(Object.keys(files).sort());
    const crossed = proxy.bytesUp + proxy.bytesDown;
    console.log(
      `[ssh-remote] ${total} bytes copied on the host; ${crossed} bytes crossed the caller's SSH connection (${((crossed / total) * 100).toFixed(2)}%)`,
    );
    expect(crossed).toBeLessThan(total * 0.05);
    for (const [name, content] of Object.entries(files)) expect(sha256(await dest.get(name))).toBe(sha256(content));
  });

  it("copies a 200 MiB file to S3 from the host, with under 2% of it through the caller's connection", { timeout: 600_000 }, async () => {
    const BIG = 200 * MiB;
    const bigDir = join(process.env.STOWAGE_TEST_SSH_DIR!, `remote-big-${randomUUID()}`);
    mkdirSync(bigDir, { recursive: true });
    const seeded = seededStream(BIG, 31);
    await pipeline(seeded.stream, createWriteStream(join(bigDir, "big.bin")));
    const target = `s3://stowage-test/remote-big-${randomUUID()}`;
    try {
      proxy.resetCounters();
      const dest = await folder({ system: "ssh", host, path: bigDir }).to(target);
      const crossed = proxy.bytesUp + proxy.bytesDown;
      console.log(
        `[ssh-remote] ${BIG} bytes copied on the host; ${crossed} bytes crossed the caller's SSH connection (${((crossed / BIG) * 100).toFixed(2)}%)`,
      );
      expect(dest.report?.ranOn).toEqual(["remote-host"]);
      expect(dest.report?.copied).toEqual([{ path: "big.bin", bytes: BIG }]);
      expect(crossed).toBeLessThan(BIG * 0.02);
      const s3 = await openSystem(target);
      expect(await sha256Of(await s3.read(`${target.replace("s3://", "/")}/big.bin`))).toEqual({ sha256: seeded.sha256(), size: BIG });
    } finally {
      rmSync(bigDir, { recursive: true, force: true });
      await folder(target)
        .rm()
        .catch(() => {});
    }
  });

  it("the host's copy follows every option it is given", async () => {
    const target = `s3://stowage-test/options-${randomUUID()}`;
    const MiB5 = 5 * MiB;
    const dest = await source().to(target, { partSize: MiB5, exclude: ["meta.json"], concurrency: 1, verify: false });
    expect(dest.report?.ranOn).toEqual(["remote-host"]);
    expect(dest.report?.copied.map((f) => f.path).sort()).toEqual(["ckpt/model.bin", "ckpt/opt.bin"]);
    // A multipart upload's ETag ends in its number of parts: 24 MiB in 5 MiB parts is 5 (16 MiB, the default, would be 2).
    const s3 = await openSystem(target);
    const stat = await s3.stat(`${target.replace("s3://", "/")}/ckpt/model.bin`);
    expect(stat.etag).toMatch(/-5"?$/);
    const again = (await source().to(target, { skip: "size", exclude: ["meta.json"] })).report!;
    expect(again.ranOn).toEqual(["remote-host"]);
    expect(again.skipped.map((f) => f.path).sort()).toEqual(["ckpt/model.bin", "ckpt/opt.bin"]);
    expect(again.copied).toEqual([]);
  });

  it("on a new connection starts the cached runner at once, with no probe before it", async () => {
    await source().to(`s3://stowage-test/warm-${randomUUID()}`, { include: ["meta.json"] }); // the runner is in the cache
    await closeSystems();
    const calls = await execCallsDuring({ system: "ssh", host, path: "/" }, async () => {
      const report = (await source().to(`s3://stowage-test/no-probe-${randomUUID()}`, { include: ["meta.json"] })).report!;
      expect(report.ranOn).toEqual(["remote-host"]);
    });
    // One Node start on the host, the runner's, carrying the request; no probe of Node or of the cache.
    const nodeStarts = calls.filter((call) => /\bnode\b/.test(call.command));
    expect(nodeStarts.length).toBe(1);
    expect(nodeStarts[0]!.stdin).toContain(`"protocol":${WIRE_PROTOCOL}`);
  });

  it("installing a new runner removes other runners untouched for a month, and keeps recent ones", async () => {
    const old = join(runnerDir, "stowage-runner-0.0.1-00000000deadbeef.mjs");
    const recent = join(runnerDir, "stowage-runner-0.0.2-00000000feedface.mjs");
    const unrelated = join(runnerDir, "notes.txt");
    for (const file of [old, recent, unrelated]) writeFileSync(file, "x");
    const monthsAgo = new Date(Date.now() - 40 * 24 * 60 * 60 * 1000);
    utimesSync(old, monthsAgo, monthsAgo);
    utimesSync(unrelated, monthsAgo, monthsAgo);
    try {
      rmSync(runnerFile, { force: true });
      await closeSystems();
      expect((await source().to(`s3://stowage-test/tidy-${randomUUID()}`, { include: ["meta.json"] })).report?.ranOn).toEqual(["remote-host"]);
      expect(existsSync(runnerFile)).toBe(true);
      expect(existsSync(old)).toBe(false);
      expect(existsSync(recent)).toBe(true);
      expect(existsSync(unrelated)).toBe(true);
    } finally {
      for (const file of [old, recent, unrelated]) rmSync(file, { force: true });
    }
  });

  it("replaces a tampered cached runner instead of running it", async () => {
    const marker = join(tempDir("tampered"), "ran");
    const tampered = `import { writeFileSync } from "node:fs"; writeFileSync(${JSON.stringify(marker)}, "ran");\n`;
    const copyOnce = async (): Promise<TransferReport> => (await source().to(`s3://stowage-test/tampered-${randomUUID()}`, { include: ["meta.json"] })).report!;

    // On a connection that already checked the runner: the launcher's own check catches it.
    writeFileSync(runnerFile, tampered);
    expect((await copyOnce()).ranOn).toEqual(["remote-host"]);
    expect(existsSync(marker)).toBe(false);
    expect(sha256Hex(readFileSync(runnerFile))).toBe(runnerSha256);

    // On a new connection: the first probe finds it and uploads the runner again.
    await closeSystems();
    writeFileSync(runnerFile, tampered);
    expect((await copyOnce()).ranOn).toEqual(["remote-host"]);
    expect(existsSync(marker)).toBe(false);
    expect(sha256Hex(readFileSync(runnerFile))).toBe(runnerSha256);
  });

  it("hands the destination's credentials and the request to the host's runner on stdin only", async () => {
    const calls = await execCallsDuring({ system: "ssh", host, path: "/" }, () =>
      source().to(`s3://stowage-test/creds-${randomUUID()}`, { include: ["meta.json"], retries: 5 }),
    );
    const copyCall = calls.find((c) => c.stdin.length > 0)!;
    expect(copyCall).toBeDefined();
    const secret = process.env.AWS_SECRET_ACCESS_KEY!;
    expect(copyCall.command).not.toContain(secret);
    expect(copyCall.command).not.toMatch(/npx|npm/);
    const request = JSON.parse(copyCall.stdin) as {
      protocol: number;
      source: unknown;
      destination: unknown;
      options: Record<string, unknown>;
      env: Record<string, string>;
    };
    expect(request.protocol).toBe(WIRE_PROTOCOL);
    expect(request.source).toEqual({ path: sourceDir });
    expect(request.destination).toEqual({ url: expect.stringMatching(/^s3:\/\/stowage-test\/creds-/) as unknown });
    expect(request.options).toEqual({ include: ["meta.json"], retries: 5 });
    expect(request.env.AWS_SECRET_ACCESS_KEY).toBe(secret);
    // Nothing of the credentials was left on the host's disk (the host is this machine): not in the
    // data directory, not in Stowage's cache there (the runner bundle names the variable, as the SDK reads it).
    const { spawnSync } = await import("node:child_process");
    const places = [process.env.STOWAGE_TEST_SSH_DIR!, join(homedir(), ".cache", "stowage")].filter((p) => existsSync(p));
    const grep = spawnSync("grep", ["-rl", "--exclude-dir=runner", "--", "AWS_SECRET_ACCESS_KEY", ...places], { encoding: "utf8" });
    expect(grep.status).toBe(1); // grep's "no match"
    expect(grep.stdout).toBe("");
  });

  // Without Stowage bringing its own Node there (ssh-remote-ship-node.test.ts covers that).
  it("streams through the caller when the host's PATH has no node and shipping Node is off, and says what to install", async () => {
    await closeSystems(); // a new connection: what a host has is asked once per connection
    proxy.resetCounters();
    process.env.STOWAGE_SHIP_NODE = "0";
    try {
      const dest = await withHostPath(host, binWithoutNode(), () => source().to(`s3://stowage-test/no-node-${randomUUID()}`));
      expect(dest.report?.ranOn).toEqual(["caller"]);
      expect(dest.report?.fallback).toMatch(/Node\.js 20/);
      expect(proxy.bytesDown).toBeGreaterThan(total);
      expect(sha256(await dest.get("ckpt/model.bin"))).toBe(sha256(files["ckpt/model.bin"]!));
    } finally {
      delete process.env.STOWAGE_SHIP_NODE;
    }
  });

  it("does not run on a host whose node is older than 20 (shipping Node off)", async () => {
    await closeSystems();
    const bin = binWithoutNode();
    writeFileSync(join(bin, "node"), "#!/bin/sh\necho v18.19.1 -\n");
    chmodSync(join(bin, "node"), 0o755);
    process.env.STOWAGE_SHIP_NODE = "0";
    try {
      const dest = await withHostPath(host, bin, () => source().to(`s3://stowage-test/old-node-${randomUUID()}`, { include: ["meta.json"] }));
      expect(dest.report?.ranOn).toEqual(["caller"]);
      expect(dest.report?.fallback).toMatch(/v18.*Node\.js 20/);
    } finally {
      delete process.env.STOWAGE_SHIP_NODE;
    }
  });

  it("STOWAGE_REMOTE_COMMAND replaces the runner and speaks the same protocol", async () => {
    process.env.STOWAGE_REMOTE_COMMAND = localRemoteCommand();
    try {
      const dest = await source().to(`s3://stowage-test/override-${randomUUID()}`, { exclude: ["ckpt/**"] });
      expect(dest.report?.ranOn).toEqual(["remote-host"]);
      expect(dest.report?.copied.map((f) => f.path)).toEqual(["meta.json"]);
    } finally {
      delete process.env.STOWAGE_REMOTE_COMMAND;
    }
  });

  it("streams through the caller when the host cannot run Stowage, and says why", async () => {
    process.env.STOWAGE_REMOTE_COMMAND = "/nonexistent/stowage";
    proxy.resetCounters();
    const dest = await source().to(`s3://stowage-test/fallback-${randomUUID()}`);
    expect(dest.report?.ranOn).toEqual(["caller"]);
    expect(dest.report?.fallback?.length).toBeGreaterThan(0); // the report says why it ran here
    expect(proxy.bytesDown).toBeGreaterThan(total);
    expect(sha256(await dest.get("ckpt/model.bin"))).toBe(sha256(files["ckpt/model.bin"]!));
  });

  it("fails with Unsupported, writing nothing, when running on the host is required but impossible", async () => {
    process.env.STOWAGE_REMOTE_COMMAND = "/nonexistent/stowage";
    const target = `s3://stowage-test/required-${randomUUID()}`;
    await expectCode(source().to(target, { remote: "require" }), "Unsupported");
    expect(await folder(target).ls({ recursive: true })).toEqual([]);
  });
});
