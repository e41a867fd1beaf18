/**
 * A finished script exits by itself: a child Node process uses Stowage on each system, prints its
 * last line and does nothing more (no closeSystems()), and must exit within 2 s of that line. A
 * pooled connection, keepalive timer or proxy process that holds the event loop keeps it alive.
 * Then, on SSH, a connection closed for being idle is opened again by the next operation.
 */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { closeSystems, openSystem } from "../../src/index.js";
import { formatAddress, parseAddress } from "../../src/systems/addresses.js";
import { loadConfig } from "../../src/systems/config.js";
import type { SystemName } from "../../src/systems/contract.js";
import { SshConnection } from "../../src/systems/ssh/connect.js";
import { resolveSettings } from "../../src/systems/ssh/settings.js";
import { SshSystem } from "../../src/systems/ssh/system.js";
import { seededBytes } from "../support/seed.js";
import { loadFixture, placeOn } from "../support/places.js";
import { freshDir, removeScratch, scratch, serverEnv } from "./ssh-helpers.js";

afterAll(async () => {
  await closeSystems();
  removeScratch();
});

/** How long a child may live on after its last line. */
const EXIT_WITHIN_MS = 2000;
/** A child still running this long after it started is killed (and the test fails). */
const CHILD_LIMIT_MS = 30_000;
/** Large enough to come down an exec channel (cat) on SSH, in several parts elsewhere. */
const READ_SIZE = 9 << 20;

interface ChildRun {
  code: number | null;
  stderr: string;
  result: unknown;
  /** Milliseconds from the child's last line to its exit. */
  lingered: number;
}

/** Runs test/systems/child-idle.ts with `args`, and measures how long it outlives its last line. */
function runChild(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<ChildRun> {
  const loader = join(process.cwd(), "node_modules/tsx/dist/loader.mjs");
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", loader, join(process.cwd(), "test/systems/child-idle.ts"), ...args], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const killer = setTimeout(() => child.kill("SIGKILL"), CHILD_LIMIT_MS);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      const exitedAt = Date.now();
      clearTimeout(killer);
      // stdout may still be draining after "exit"; "close" has all of it.
      child.once("close", () => {
        const last = stdout.trim().split("\n").pop() ?? "";
        let line: { result?: unknown; at?: number } = {};
        try {
          line = JSON.parse(last) as typeof line;
        } catch {
          // No last line: the assertions below report stdout and stderr.
        }
        resolve({
          code,
          stderr: stderr || (line.at === undefined ? `no result line; stdout: ${stdout}` : ""),
          result: line.result,
          lingered: exitedAt - (line.at ?? 0),
        });
      });
    });
  });
}

function expectPromptExit(run: ChildRun, result: unknown): void {
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  expect(run.result).toEqual(result);
  expect(run.lingered).toBeLessThan(EXIT_WITHIN_MS);
}

/** A small local folder to copy: two files, one in a subfolder. */
function smallFolder(): string {
  const dir = scratch("idle-source");
  mkdirSync(join(dir, "sub"));
  writeFileSync(join(dir, "a.txt"), "a\n");
  writeFileSync(join(dir, "sub", "b.bin"), seededBytes(1000, 5));
  return dir;
}

const WRITABLE: readonly SystemName[] = ["file", "ssh", "s3", "gs", "azure"];

describe.each(WRITABLE)("a script using %s", (system) => {
  it("exits by itself after copying a folder there and listing it", async () => {
    const root = await (await loadFixture(system)).writableRoot!();
    const target = formatAddress(placeOn(system, `${root}/copied`));
    const run = await runChild(["copy-list", smallFolder(), target]);
    expectPromptExit(run, ["a.txt", "sub/b.bin"]);
  });

  it("exits by itself after reading a file stream to its end", async () => {
    const root = await (await loadFixture(system)).writableRoot!();
    const address = placeOn(system, `${root}/read.bin`);
    await (
      await openSystem(address)
    ).write!(address.path, seededBytes(READ_SIZE, 9));
    const run = await runChild(["read", formatAddress(address)]);
    expectPromptExit(run, READ_SIZE);
  });
});

describe("a script reading from github", () => {
  it("exits by itself after reading a file stream to its end", async () => {
    const run = await runChild(["read", `github://${process.env.STOWAGE_TEST_GITHUB_REPO}@main/range.bin`]);
    expectPromptExit(run, 1 << 20);
  });
});

describe("a script reaching an ssh host through a proxy", () => {
  it.each(["via-jump", "via-command"])("exits by itself after reading through %s", async (host) => {
    const server = serverEnv();
    const dir = scratch("idle-proxy");
    const configFile = join(dir, "config");
    writeFileSync(
      configFile,
      [
        `Include ${server.config}`,
        "Host via-jump",
        `  ProxyJump ${server.alias}`,
        "Host via-command",
        `  ProxyCommand ssh -F ${server.config} -W %h:%p ${server.alias}`,
        "Host via-*",
        "  HostName 127.0.0.1",
        `  Port ${server.port}`,
        `  User ${server.user}`,
        `  IdentityFile ${server.key}`,
        "  IdentitiesOnly yes",
        `  UserKnownHostsFile ${server.knownHosts}`,
        "",
      ].join("\n"),
    );
    const path = `${freshDir()}/read.bin`;
    const direct = placeOn("ssh", path);
    const system = await openSystem(direct);
    await system.mkdir!(path.slice(0, path.lastIndexOf("/")));
    await system.write!(path, seededBytes(READ_SIZE, 4));
    const run = await runChild(["read", formatAddress({ system: "ssh", host, path })], { ...process.env, STOWAGE_SSH_CONFIG: configFile });
    expectPromptExit(run, READ_SIZE);
  });
});

describe("an idle ssh connection", () => {
  const IDLE_MS = 300;

  function idleSystem(): { connection: SshConnection; system: SshSystem } {
    const address = parseAddress({ system: "ssh", host: serverEnv().alias, path: "/" });
    const connection = new SshConnection(resolveSettings(address, loadConfig()), { idleCloseMs: IDLE_MS });
    return { connection, system: new SshSystem(connection) };
  }

  it("is closed after the idle timeout and opened again by the next operation", async () => {
    const { connection, system } = idleSystem();
    try {
      const dir = freshDir();
      await system.mkdir(dir);
      await system.write(`${dir}/one.txt`, "one");
      const first = (await connection.session()).client;
      await sleep(IDLE_MS * 3);
      expect(connection.connected).toBe(false);
      await system.write(`${dir}/two.txt`, "two");
      expect((await connection.session()).client).not.toBe(first);
      const names: string[] = [];
      for await (const entry of system.list(dir)) names.push(entry.path.slice(dir.length + 1));
      expect(names.sort()).toEqual(["one.txt", "two.txt"]);
    } finally {
      await system.close();
    }
  });

  it("is kept while a stream it returned is still open", async () => {
    const { connection, system } = idleSystem();
    try {
      const dir = freshDir();
      await system.mkdir(dir);
      const content = seededBytes(READ_SIZE, 6);
      await system.write(`${dir}/held.bin`, content);
      const stream = await system.read(`${dir}/held.bin`);
      await sleep(IDLE_MS * 3);
      expect(connection.connected).toBe(true);
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).equals(content)).toBe(true);
      await sleep(IDLE_MS * 3);
      expect(connection.connected).toBe(false);
    } finally {
      await system.close();
    }
  });

  it("stays open while a listing is being read", async () => {
    const { connection, system } = idleSystem();
    try {
      const dir = freshDir();
      await system.mkdir(dir);
      await system.batches.writeMany(["a", "b", "c"].map((name) => ({ path: `${dir}/${name}.txt`, body: Buffer.from(name) })));
      const names: string[] = [];
      for await (const entry of system.list(dir)) {
        names.push(entry.path.slice(dir.length + 1));
        await sleep(IDLE_MS); // the consumer is slow: the listing is still in flight
      }
      expect(names.sort()).toEqual(["a.txt", "b.txt", "c.txt"]);
      expect(connection.connected).toBe(true);
    } finally {
      await system.close();
    }
  });
});
