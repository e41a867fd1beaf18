/**
 * A copy out of an SSH host runs on that host: the caller's SSH connection carries only control
 * traffic. The test host is this machine behind a counting TCP proxy, so we can see what crosses.
 */
import { randomUUID } from "node:crypto";
import { full } from "../support/full-system.js";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeSystems, folder, openSystem, type ExecOptions } from "../../src/index.js";
import { expectCode } from "../../src/testing/index.js";
import { sha256 } from "../support/measure.js";
import { localRemoteCommand } from "../support/places.js";
import { seededBytes } from "../support/seed.js";
import { sshThroughProxy } from "../support/ssh-proxy.js";
import type { TcpProxy } from "../support/tcp-proxy.js";

const MiB = 1 << 20;
const files: Record<string, Buffer> = { "ckpt/model.bin": seededBytes(24 * MiB, 21), "ckpt/opt.bin": seededBytes(8 * MiB, 22), "meta.json": Buffer.from("{}") };
const total = Object.values(files).reduce((sum, b) => sum + b.length, 0);

describe("ssh → bucket runs on the host", () => {
  let proxy: TcpProxy;
  let sourceDir: string;
  const host = "via-proxy";

  beforeAll(async () => {
    const env = process.env;
    proxy = await sshThroughProxy(host);
    // The data is written straight into the host's disk (this machine), not through the proxy.
    sourceDir = join(env.STOWAGE_TEST_SSH_DIR!, `remote-${randomUUID()}`);
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(join(sourceDir, name, ".."), { recursive: true });
      writeFileSync(join(sourceDir, name), content);
    }
  });

  afterAll(async () => {
    await closeSystems();
    await proxy.close();
  });

  const source = () => folder({ system: "ssh", host, path: sourceDir });

  it("copies to S3 from the host, with only control traffic through the caller's connection", async () => {
    process.env.STOWAGE_REMOTE_COMMAND = localRemoteCommand();
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

  it("hands the destination's credentials to the host command on stdin only", async () => {
    process.env.STOWAGE_REMOTE_COMMAND = localRemoteCommand();
    const ssh = full(await openSystem({ system: "ssh", host, path: "/" }));
    const calls: Array<{ command: string; stdin: string }> = [];
    const exec = ssh.exec.bind(ssh);
    ssh.exec = (command: string, options?: ExecOptions) => {
      calls.push({ command, stdin: options?.stdin?.toString() ?? "" });
      return exec(command, options);
    };
    try {
      await source().to(`s3://stowage-test/creds-${randomUUID()}`, { include: ["meta.json"] });
    } finally {
      ssh.exec = exec;
    }
    const copyCall = calls.find((c) => c.command.includes("--credentials-stdin"))!;
    expect(copyCall).toBeDefined();
    const secret = process.env.AWS_SECRET_ACCESS_KEY!;
    expect(copyCall.command).not.toContain(secret);
    expect(JSON.parse(copyCall.stdin).env.AWS_SECRET_ACCESS_KEY).toBe(secret);
    // Nothing of the credentials was left on the host's disk (the host is this machine): not in the
    // data directory, not in Stowage's cache there.
    const { spawnSync } = await import("node:child_process");
    const places = [process.env.STOWAGE_TEST_SSH_DIR!, join(homedir(), ".cache", "stowage")].filter((p) => existsSync(p));
    const grep = spawnSync("grep", ["-rl", "--", "AWS_SECRET_ACCESS_KEY", ...places], { encoding: "utf8" });
    expect(grep.status).toBe(1); // grep's "no match"
    expect(grep.stdout).toBe("");
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
