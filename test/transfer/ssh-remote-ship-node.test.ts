/**
 * A host without Node still runs a copy out of it on itself: Stowage brings this machine's own
 * Node binary into the host's cache (~/.cache/stowage/node), checked by its SHA-256, and starts the
 * runner with it. The hosts are this machine behind sshd instances of their own whose logins get a
 * PATH without node (sshd_config `SetEnv PATH=…`, which overrides the login's default), one of
 * them started under `setarch linux32` so that `uname -m` there names another architecture: no
 * wrapper stands between Stowage and the hosts. The first host is reached through a counting TCP
 * proxy, to see what crosses the caller's connection.
 */
import { randomUUID } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { buildRunner } from "../../scripts/build-runner.js";
import { closeSystems, folder, openSystem, type TransferReport } from "../../src/index.js";
import { expectCode } from "../../src/testing/index.js";
import { startSshd } from "../servers/sshd.js";
import { full } from "../support/full-system.js";
import { binWithoutNode, execCallsDuring } from "../support/host-path.js";
import { sha256, sha256Of } from "../support/measure.js";
import { tempDir, type RunningServer } from "../support/process.js";
import { lockRunnerCache, unlockRunnerCache } from "../support/runner-cache-lock.js";
import { seededBytes } from "../support/seed.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";

const MiB = 1 << 20;
const files: Record<string, Buffer> = { "ckpt/model.bin": seededBytes(16 * MiB, 41), "meta.json": Buffer.from('{"step":1}') };
const total = Object.values(files).reduce((sum, b) => sum + b.length, 0);
const nodeDir = join(homedir(), ".cache", "stowage", "node");
const host = "ship-node-no-node";
const otherArchHost = "ship-node-other-arch";
/** Each test may upload 100 MB and start Node several times over SSH, on a machine shared with other test files. */
const LONG = 300_000;

describe("a host without Node gets this machine's", () => {
  let noNode: RunningServer;
  let otherArch: RunningServer;
  let proxy: TcpProxy;
  let sourceDir: string;
  let nodeFile: string;
  let nodeSha256: string;
  let nodeSize: number;
  const saved = { config: process.env.STOWAGE_SSH_CONFIG };

  beforeAll(async () => {
    delete process.env.STOWAGE_REMOTE_COMMAND;
    delete process.env.STOWAGE_SHIP_NODE;
    await buildRunner();
    const login = [`SetEnv PATH=${binWithoutNode()}`];
    noNode = await startSshd({ alias: host, extraConfig: login });
    otherArch = await startSshd({ alias: otherArchHost, extraConfig: login, launcher: ["setarch", "linux32"] });
    proxy = await startTcpProxy(Number(noNode.env.STOWAGE_TEST_SSH_PORT));
    const dir = tempDir("ship-node-ssh");
    const hostKey = (server: RunningServer) => readFileSync(server.env.STOWAGE_TEST_SSH_KNOWN_HOSTS!, "utf8").trim().split(/\s+/).slice(1).join(" ");
    writeFileSync(
      join(dir, "known_hosts"),
      `[127.0.0.1]:${proxy.port} ${hostKey(noNode)}\n[127.0.0.1]:${otherArch.env.STOWAGE_TEST_SSH_PORT} ${hostKey(otherArch)}\n`,
    );
    const entry = (alias: string, port: number | string, server: RunningServer) => [
      `Host ${alias}`,
      "  HostName 127.0.0.1",
      `  Port ${port}`,
      `  User ${server.env.STOWAGE_TEST_SSH_USER}`,
      `  IdentityFile ${server.env.STOWAGE_TEST_SSH_KEY}`,
      "  IdentitiesOnly yes",
      `  UserKnownHostsFile ${join(dir, "known_hosts")}`,
    ];
    writeFileSync(
      join(dir, "config"),
      [...entry(host, proxy.port, noNode), ...entry(otherArchHost, otherArch.env.STOWAGE_TEST_SSH_PORT!, otherArch), ""].join("\n"),
    );
    process.env.STOWAGE_SSH_CONFIG = join(dir, "config");

    ({ sha256: nodeSha256, size: nodeSize } = await sha256Of(createReadStream(process.execPath)));
    nodeFile = join(nodeDir, `node-${process.version}-${process.platform}-${process.arch}-${nodeSha256.slice(0, 16)}`);
    // The data lies on the hosts' disk (this machine), written there directly.
    sourceDir = tempDir("ship-node-source");
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(join(sourceDir, name, ".."), { recursive: true });
      writeFileSync(join(sourceDir, name), content);
    }
  }, 120_000);

  afterAll(async () => {
    delete process.env.STOWAGE_SHIP_NODE;
    await closeSystems();
    await proxy?.close();
    await noNode?.stop();
    await otherArch?.stop();
    // The hosts' cache is this machine's: leave no 100 MB binary behind.
    if (nodeFile) rmSync(nodeFile, { force: true });
    if (saved.config === undefined) delete process.env.STOWAGE_SSH_CONFIG;
    else process.env.STOWAGE_SSH_CONFIG = saved.config;
  });

  const source = (on = host) => folder({ system: "ssh", host: on, path: sourceDir });
  const target = (what: string) => `s3://stowage-test/ship-node-${what}-${randomUUID()}`;
  const onHost = async (on: string, command: string) =>
    (await full(await openSystem({ system: "ssh", host: on, path: "/" })).exec(command)).stdout.toString().trim();
  /** Starts of the Node brought there with the request on stdin (not the host's `node`, tried first on a new connection). */
  const starts = (calls: Array<{ command: string; stdin: string }>) =>
    calls.filter((call) => call.stdin.length > 0 && call.command.includes(".cache/stowage/node/")).length;

  // The runner cache (~/.cache/stowage/runner) is shared with other test files: none removes it while these count bytes.
  beforeEach(lockRunnerCache, 600_000);
  afterEach(unlockRunnerCache);

  it("the hosts' logins really have no node, and the second says it is another architecture", async () => {
    expect(await onHost(host, "command -v node || echo none")).toBe("none");
    expect(await onHost(otherArchHost, "command -v node || echo none")).toBe("none");
    expect(await onHost(otherArchHost, "uname -m")).not.toBe(await onHost(host, "uname -m"));
  });

  it("brings this machine's Node into the host's cache under its version and hash, and runs the copy there with it", { timeout: LONG }, async () => {
    rmSync(nodeFile, { force: true });
    await closeSystems();
    proxy.resetCounters();
    const started = Date.now();
    const dest = await source().to(target("first"), { include: ["meta.json"] });
    console.log(`[ship-node] first copy, bringing ${nodeSize} bytes of Node: ${Date.now() - started} ms`);
    expect(dest.report?.ranOn).toEqual(["remote-host"]);
    expect(dest.report?.hostNode).toBe("shipped");
    expect(dest.report?.host).toBe(host);
    expect(dest.report?.fallback).toBeUndefined();
    expect(dest.report?.copied.map((f) => f.path)).toEqual(["meta.json"]);
    expect(sha256(await dest.get("meta.json"))).toBe(sha256(files["meta.json"]!));
    // Uploaded once, through the caller's connection, whole and executable; no temporary file left.
    expect(proxy.bytesUp).toBeGreaterThan(nodeSize);
    expect(await sha256Of(createReadStream(nodeFile))).toEqual({ sha256: nodeSha256, size: nodeSize });
    expect(statSync(nodeFile).mode & 0o777).toBe(0o755);
    expect(readdirSync(nodeDir).filter((name) => name.includes(".tmp-"))).toEqual([]);
  });

  it("a second copy, on a new connection, reuses the cached Node: only control traffic crosses", { timeout: LONG }, async () => {
    const before = statSync(nodeFile);
    await closeSystems();
    proxy.resetCounters();
    const started = Date.now();
    const dest = await source().to(target("again"));
    console.log(`[ship-node] second copy on a new connection (hash checked on the host): ${Date.now() - started} ms`);
    const crossed = proxy.bytesUp + proxy.bytesDown;
    console.log(`[ship-node] ${total} bytes copied on the host with the Node brought there; ${crossed} bytes crossed the caller's connection`);
    expect(dest.report?.ranOn).toEqual(["remote-host"]);
    expect(dest.report?.hostNode).toBe("shipped");
    expect(dest.report?.copied.map((f) => f.path).sort()).toEqual(Object.keys(files).sort());
    expect(crossed).toBeLessThan(total * 0.05);
    const after = statSync(nodeFile);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    expect(sha256(await dest.get("ckpt/model.bin"))).toBe(sha256(files["ckpt/model.bin"]!));
  });

  const marker = () => join(tempDir("ship-node-tampered"), "ran");
  /** A shell script in place of the cached Node: it leaves `ran` behind if anything starts it. */
  const tamperedScript = (ran: string) => `#!/bin/sh\necho ran > ${ran}\nexit 0\n`;
  const copyCountingStarts = async (): Promise<{ report: TransferReport; starts: number }> => {
    let report: TransferReport | undefined;
    const calls = await execCallsDuring({ system: "ssh", host, path: "/" }, async () => {
      report = (await source().to(target("tampered"), { include: ["meta.json"] })).report!;
    });
    return { report: report!, starts: starts(calls) };
  };

  it("a cached Node changed on a connection that checked it is not started: the copy uploads it again and runs", { timeout: LONG }, async () => {
    const ran = marker();
    await copyCountingStarts(); // this connection has checked the cached Node
    // A new file (a Node that just ran may still be busy as a text file), executable as the real one.
    rmSync(nodeFile);
    writeFileSync(nodeFile, tamperedScript(ran), { mode: 0o755 });
    const { report, starts } = await copyCountingStarts();
    expect(report.ranOn).toEqual(["remote-host"]);
    expect(report.hostNode).toBe("shipped");
    expect(starts).toBe(2); // the first start refused the changed file (size, mtime), the second ran the one uploaded again
    expect(existsSync(ran)).toBe(false);
    expect((await sha256Of(createReadStream(nodeFile))).sha256).toBe(nodeSha256);
  });

  it("a cached Node changed with its size and mtime kept is found by the hash check of a new connection, before any start", { timeout: LONG }, async () => {
    const ran = marker();
    const { mtime, atime } = statSync(nodeFile);
    const sameSize = Buffer.alloc(nodeSize, "#");
    sameSize.write(tamperedScript(ran));
    rmSync(nodeFile);
    writeFileSync(nodeFile, sameSize, { mode: 0o755 });
    utimesSync(nodeFile, atime, mtime);
    await closeSystems();
    const { report, starts } = await copyCountingStarts();
    expect(report.ranOn).toEqual(["remote-host"]);
    expect(report.hostNode).toBe("shipped");
    expect(starts).toBe(1);
    expect(existsSync(ran)).toBe(false);
    expect((await sha256Of(createReadStream(nodeFile))).sha256).toBe(nodeSha256);
  });

  it("with STOWAGE_SHIP_NODE=0 the copy streams through the caller and says what to install", async () => {
    rmSync(nodeFile, { force: true });
    process.env.STOWAGE_SHIP_NODE = "0";
    try {
      await closeSystems();
      proxy.resetCounters();
      const dest = await source().to(target("off"));
      expect(dest.report?.ranOn).toEqual(["caller"]);
      expect(dest.report?.hostNode).toBeUndefined();
      expect(dest.report?.fallback).toMatch(/STOWAGE_SHIP_NODE/);
      expect(dest.report?.fallback).toMatch(/Node\.js 20/);
      expect(proxy.bytesDown).toBeGreaterThan(total); // the files came down the caller's connection
      expect(existsSync(nodeFile)).toBe(false);
      await expectCode(source().to(target("off-required"), { remote: "require" }), "Unsupported");
    } finally {
      delete process.env.STOWAGE_SHIP_NODE;
    }
  });

  it("a host of another architecture gets no Node from this machine: the copy streams through the caller and says why", async () => {
    rmSync(nodeFile, { force: true });
    await closeSystems();
    const dest = await source(otherArchHost).to(target("other-arch"), { include: ["meta.json"] });
    expect(dest.report?.ranOn).toEqual(["caller"]);
    expect(dest.report?.hostNode).toBeUndefined();
    expect(dest.report?.fallback).toContain(`built for ${process.platform}-${process.arch}`);
    expect(dest.report?.fallback).toMatch(/Node\.js 20/);
    expect(sha256(await dest.get("meta.json"))).toBe(sha256(files["meta.json"]!));
    expect(existsSync(nodeFile)).toBe(false);
  });
});
