/**
 * ProxyJump and ProxyCommand against the real sshd: the test server jumps to itself (it allows TCP
 * forwarding), so each hop is a real SSH connection with its own host key check and login. Which
 * path a connection took is read from the server's SSH_CLIENT and this process's own sockets.
 */
import { full, type FullSystem } from "../support/full-system.js";
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseAddress } from "../../src/systems/addresses.js";
import { isStowageError, type StowageError } from "../../src/errors.js";
import type { System } from "../../src/systems/contract.js";
import { HostKeyError } from "../../src/systems/ssh/errors.js";
import { createSshSystem } from "../../src/systems/ssh/system.js";
import { freePort } from "../support/process.js";
import { codeOf, freshDir, removeScratch, scratch, serverEnv } from "./ssh-helpers.js";

afterAll(removeScratch);

const opened: System[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((system) => system.close()));
});

let configFile: string;
let closedPort: number;

beforeAll(async () => {
  const server = serverEnv();
  closedPort = await freePort(); // nothing listens there: connections to it are refused
  const dir = scratch("ssh-proxy");
  const emptyKnownHosts = join(dir, "empty_known_hosts");
  writeFileSync(emptyKnownHosts, "");
  configFile = join(dir, "config");
  writeFileSync(
    configFile,
    [
      "# The test server's own config: the alias stowage-test, with its key and known_hosts.",
      `Include ${server.config}`,
      "Host via-jump",
      `  ProxyJump ${server.alias}`,
      "Host via-two-hops",
      `  ProxyJump ${server.alias},${server.user}@127.0.0.1:${server.port}`,
      "Host via-command",
      `  ProxyCommand ssh -F ${server.config} -W %h:%p ${server.alias}`,
      "Host via-failing-command",
      `  ProxyCommand ssh -F ${server.config} -W %h:${closedPort} ${server.alias}`,
      "Host via-refusing-hop",
      `  ProxyJump ${server.user}@127.0.0.1:${closedPort}`,
      "Host via-hop-to-nowhere",
      `  Port ${closedPort}`,
      `  ProxyJump ${server.alias}`,
      "Host via-unknown-hop",
      "  ProxyJump hop-with-unknown-key",
      "Host hop-with-unknown-key unknown-behind-jump",
      `  UserKnownHostsFile ${emptyKnownHosts}`,
      "Host unknown-behind-jump",
      `  ProxyJump ${server.alias}`,
      "Host *",
      "  HostName 127.0.0.1",
      `  Port ${server.port}`,
      `  User ${server.user}`,
      `  IdentityFile ${server.key}`,
      "  IdentitiesOnly yes",
      `  UserKnownHostsFile ${server.knownHosts}`,
      "",
    ].join("\n"),
  );
});

async function open(host: string, port?: number): Promise<FullSystem> {
  const address = parseAddress({ system: "ssh", host, path: "/", ...(port === undefined ? {} : { port }) });
  const system = await createSshSystem(address, { ssh: { configFile } });
  opened.push(system);
  return full(system);
}

async function openError(host: string, port?: number): Promise<StowageError> {
  const error = await open(host, port).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isStowageError(error), `expected a StowageError, got ${String(error)}`).toBe(true);
  return error as StowageError;
}

/** Local ports of this process's established TCP connections to 127.0.0.1:`port`. */
function ownConnectionsTo(port: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (match) inodes.add(match[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const ports: number[] = [];
  for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10) continue;
    const [, local, remote, state] = fields;
    // State 01 is ESTABLISHED; addresses are hex "IP:PORT".
    if (state === "01" && parseInt(remote!.split(":")[1]!, 16) === port && inodes.has(fields[9]!)) ports.push(parseInt(local!.split(":")[1]!, 16));
  }
  return ports;
}

/** Command lines of this process's child processes. */
function childCommands(): string[] {
  const commands: string[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (parent === process.pid) commands.push(readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0").join(" ").trim());
    } catch {
      // the process ended while we looked
    }
  }
  return commands;
}

async function eventually(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The client port the server saw for this session (SSH_CLIENT is "ip port server-port"). */
async function clientPortSeenByServer(system: FullSystem): Promise<number> {
  const { stdout } = await system.exec("echo $SSH_CLIENT");
  return Number(stdout.toString().trim().split(" ")[1]);
}

/** Writes, stats, lists and reads back one file through `system`. */
async function roundTrip(system: FullSystem): Promise<void> {
  const dir = freshDir();
  const body = `through ${Math.random()}`;
  await system.write(`${dir}/sub/file.txt`, body);
  expect(await system.stat(`${dir}/sub/file.txt`)).toMatchObject({ type: "file", size: Buffer.byteLength(body) });
  const names: string[] = [];
  for await (const entry of system.list(dir, { recursive: true })) names.push(entry.path);
  expect(names).toContain(`${dir}/sub/file.txt`);
  const chunks: Buffer[] = [];
  for await (const chunk of await system.read(`${dir}/sub/file.txt`)) chunks.push(chunk as Buffer);
  expect(Buffer.concat(chunks).toString()).toBe(body);
  // And the host really holds it, as its own shell sees it.
  expect(readFileSync(`${dir}/sub/file.txt`, "utf8")).toBe(body);
}

describe("ssh ProxyJump", () => {
  it("a direct connection is this process's own socket (the baseline for the checks below)", async () => {
    const system = await open(serverEnv().alias);
    expect(ownConnectionsTo(serverEnv().port)).toContain(await clientPortSeenByServer(system));
  });

  /**
   * stat/list/write/read work through `alias`, and the target saw the jump host's forwarded
   * connection, not a socket of this process, whose only connection is the one to the first hop.
   */
  async function expectJumped(alias: string): Promise<void> {
    const system = await open(alias);
    await roundTrip(system);
    const own = ownConnectionsTo(serverEnv().port);
    expect(own).toHaveLength(1);
    expect(own).not.toContain(await clientPortSeenByServer(system));
  }

  it("reaches the target through a jump host, and stat/list/write/read work", () => expectJumped("via-jump"));

  it("goes through a chain of two hops, the second given as user@host:port", () => expectJumped("via-two-hops"));

  it("closes the jump connections when the target connection closes", async () => {
    // Earlier tests' systems are closed; their jump connections finish closing in the background.
    await eventually(() => ownConnectionsTo(serverEnv().port).length === 0, "earlier connections to close");
    const system = await open("via-two-hops");
    expect(ownConnectionsTo(serverEnv().port)).toHaveLength(1);
    opened.splice(opened.indexOf(system), 1);
    await system.close();
    await eventually(() => ownConnectionsTo(serverEnv().port).length === 0, "the jump connection to close");
  });

  it("a refused jump host fails with the same code as a refused direct connection", async () => {
    const direct = await openError("127.0.0.1", closedPort);
    expect(direct.code).toBe("Unavailable");
    const viaHop = await openError("via-refusing-hop");
    expect(viaHop.code).toBe(direct.code);
    expect(viaHop.retryable).toBe(direct.retryable);
  });

  it("a target the jump host cannot reach fails with Unavailable and leaves no connection open", async () => {
    await eventually(() => ownConnectionsTo(serverEnv().port).length === 0, "earlier connections to close");
    expect(await codeOf(open("via-hop-to-nowhere"))).toBe("Unavailable");
    await eventually(() => ownConnectionsTo(serverEnv().port).length === 0, "the jump connection to close");
  });

  it("checks the host key of every hop, each under its own settings", async () => {
    const hop = await openError("via-unknown-hop");
    expect(hop.code).toBe("PermissionDenied");
    expect(hop.cause).toBeInstanceOf(HostKeyError);
    const target = await openError("unknown-behind-jump");
    expect(target.code).toBe("PermissionDenied");
    expect(target.cause).toBeInstanceOf(HostKeyError);
  });
});

describe("ssh ProxyCommand", () => {
  it("talks SSH over `ssh -W`, and ends the command when the connection closes", async () => {
    const isProxy = (command: string) => command.includes("-W 127.0.0.1:");
    expect(childCommands().filter(isProxy)).toHaveLength(0);
    const system = await open("via-command");
    await roundTrip(system);
    // The command (exec'd by sh, so it is the child itself) carries the connection.
    expect(childCommands().filter(isProxy)).toHaveLength(1);
    expect(ownConnectionsTo(serverEnv().port)).not.toContain(await clientPortSeenByServer(system));
    opened.splice(opened.indexOf(system), 1);
    await system.close();
    await eventually(() => childCommands().filter(isProxy).length === 0, "the ProxyCommand to end");
  });

  it("a command that cannot reach the target fails with Unavailable and does not linger", async () => {
    expect(await codeOf(open("via-failing-command"))).toBe("Unavailable");
    await eventually(() => !childCommands().some((command) => command.includes(`:${closedPort}`)), "the ProxyCommand to end");
  });
});

describe("ssh config Include loops", () => {
  it("an Include loop is InvalidInput when the system opens", async () => {
    const dir = scratch("ssh-include-loop");
    const file = join(dir, "config");
    writeFileSync(file, `Include ${join(dir, "other")}\n`);
    writeFileSync(join(dir, "other"), `Include ${file}\n`);
    const address = parseAddress({ system: "ssh", host: serverEnv().alias, path: "/" });
    expect(await codeOf(createSshSystem(address, { ssh: { configFile: file } }))).toBe("InvalidInput");
  });
});
