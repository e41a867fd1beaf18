/**
 * Host key checking and authentication against the real sshd: known_hosts is enforced by default,
 * new keys are accepted only on an explicit opt-in, changed and revoked keys never.
 */
import { execFileSync } from "node:child_process";
import { full, type FullSystem } from "../support/full-system.js";
import { appendFileSync, copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { type Address } from "../../src/address.js";
import { parseAddress } from "../../src/systems/addresses.js";
import type { StowageConfig } from "../../src/config.js";
import { isStowageError, type StowageError } from "../../src/errors.js";
import type { System } from "../../src/systems/contract.js";
import { AuthError, HostKeyError } from "../../src/systems/ssh/errors.js";
import { createSshSystem } from "../../src/systems/ssh/system.js";
import { removeScratch, scratch, serverEnv } from "./ssh-helpers.js";

afterAll(removeScratch);

const opened: System[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((system) => system.close()));
});

const address = (): Address => parseAddress({ system: "ssh", host: serverEnv().alias, path: "/" });

async function open(config: StowageConfig, target: Address = address()): Promise<FullSystem> {
  const system = await createSshSystem(target, config);
  opened.push(system);
  return full(system);
}

async function openError(config: StowageConfig, target: Address = address()): Promise<StowageError> {
  const error = await open(config, target).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isStowageError(error), `expected a StowageError, got ${String(error)}`).toBe(true);
  return error as StowageError;
}

/** The host key check (not authentication) refused the connection. */
function expectHostKeyRefusal(error: StowageError): void {
  expect(error.code).toBe("PermissionDenied");
  expect(error.cause).toBeInstanceOf(HostKeyError);
}

/** The server's real host key line, and a fresh unrelated ed25519 key. */
function keys() {
  const realLine = readFileSync(serverEnv().knownHosts, "utf8").trim();
  const otherFile = join(scratch("ssh-otherkey"), "other");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", otherFile]);
  const otherKey = readFileSync(`${otherFile}.pub`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
  const name = `[127.0.0.1]:${serverEnv().port}`;
  return { realLine, realKey: realLine.split(/\s+/).slice(1).join(" "), otherKey, name };
}

function knownHostsFile(text: string): string {
  const file = join(scratch("ssh-kh"), "known_hosts");
  writeFileSync(file, text);
  return file;
}

describe("ssh host keys", () => {
  it("connects when known_hosts holds the key", async () => {
    const system = await open({ ssh: { configFile: serverEnv().config } });
    expect((await system.exec("echo ok")).stdout.toString()).toBe("ok\n");
  });

  it("rejects an unknown host key with PermissionDenied and records nothing", async () => {
    const file = knownHostsFile("");
    const error = await openError({ ssh: { configFile: serverEnv().config, knownHosts: file } });
    expectHostKeyRefusal(error);
    expect(error.retryable).toBe(false);
    expect(readFileSync(file, "utf8")).toBe("");
  });

  it("rejects a changed host key with PermissionDenied, even when new keys are accepted", async () => {
    const { otherKey, name } = keys();
    const file = knownHostsFile(`# an older key\n${name} ${otherKey}\n`);
    const error = await openError({ ssh: { configFile: serverEnv().config, knownHosts: file, acceptNewHostKeys: true } });
    expectHostKeyRefusal(error);
    expect(readFileSync(file, "utf8")).toBe(`# an older key\n${name} ${otherKey}\n`);
  });

  it("rejects a key marked @revoked", async () => {
    const { realLine, realKey } = keys();
    const file = knownHostsFile(`${realLine}\n@revoked * ${realKey}\n`);
    expectHostKeyRefusal(await openError({ ssh: { configFile: serverEnv().config, knownHosts: file } }));
  });

  it("accepts new keys only on opt-in, appending them to known_hosts, then connects strictly", async () => {
    const { realKey, name } = keys();
    const file = knownHostsFile("other.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOl0yYtKk3x0t3uWJ3SDUuO4cOkYgJgQk4rJ3gq4a1cJ");
    await open({ ssh: { configFile: serverEnv().config, knownHosts: file, acceptNewHostKeys: true } });
    const lines = readFileSync(file, "utf8").trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe(`${name} ${realKey}`);
    // The recorded key now satisfies a strict connection, and OpenSSH's own tools read the file.
    await open({ ssh: { configFile: serverEnv().config, knownHosts: file } });
    expect(execFileSync("ssh-keygen", ["-F", name, "-f", file]).toString()).toContain(realKey);
  });

  it("matches hashed known_hosts entries (ssh-keygen -H)", async () => {
    const { realLine } = keys();
    const file = knownHostsFile(`${realLine}\n`);
    execFileSync("ssh-keygen", ["-q", "-H", "-f", file]);
    expect(readFileSync(file, "utf8")).toMatch(/^\|1\|/);
    await open({ ssh: { configFile: serverEnv().config, knownHosts: file } });
  });

  it("honours StrictHostKeyChecking accept-new and no from the ssh config", async () => {
    const { otherKey, name } = keys();
    const dir = scratch("ssh-strict");
    const acceptNewHosts = join(dir, "accept_new_hosts");
    const changedHosts = join(dir, "changed_hosts");
    writeFileSync(changedHosts, `${name} ${otherKey}\n`);
    const config = join(dir, "config");
    writeFileSync(
      config,
      [
        "Host accept-new-host",
        `  UserKnownHostsFile ${acceptNewHosts}`,
        "  StrictHostKeyChecking accept-new",
        "Host careless-host",
        `  UserKnownHostsFile ${changedHosts}`,
        "  StrictHostKeyChecking no",
        "Host *",
        "  HostName 127.0.0.1",
        `  Port ${serverEnv().port}`,
        `  User ${serverEnv().user}`,
        `  IdentityFile ${serverEnv().key}`,
      ].join("\n"),
    );
    await open({ ssh: { configFile: config } }, parseAddress({ system: "ssh", host: "accept-new-host", path: "/" }));
    expect(readFileSync(acceptNewHosts, "utf8")).toContain(name);
    await open({ ssh: { configFile: config } }, parseAddress({ system: "ssh", host: "careless-host", path: "/" }));
  });
});

describe("ssh authentication", () => {
  function configWithKey(keyFile: string): string {
    const file = join(scratch("ssh-authcfg"), "config");
    writeFileSync(
      file,
      [
        "Host keyed",
        "  HostName 127.0.0.1",
        `  Port ${serverEnv().port}`,
        `  User ${serverEnv().user}`,
        `  IdentityFile ${keyFile}`,
        "  IdentitiesOnly yes",
        `  UserKnownHostsFile ${serverEnv().knownHosts}`,
      ].join("\n"),
    );
    return file;
  }
  const keyed = () => parseAddress({ system: "ssh", host: "keyed", path: "/" });

  it("a key the server does not accept gives PermissionDenied", async () => {
    const key = join(scratch("ssh-badkey"), "id_ed25519");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
    const error = await openError({ ssh: { configFile: configWithKey(key) } }, keyed());
    expect(error.code).toBe("PermissionDenied");
    expect(error.cause).toBeInstanceOf(AuthError);
    expect(((error.cause as Error).cause as { level?: string }).level).toBe("client-authentication");
  });

  it("uses a key with a passphrase only when STOWAGE_SSH_PASSPHRASE opens it", async () => {
    const key = join(scratch("ssh-passkey"), "id_ed25519");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "open sesame", "-f", key]);
    appendFileSync(serverEnv().authorizedKeys, readFileSync(`${key}.pub`));
    const config = { ssh: { configFile: configWithKey(key) } };
    const saved = process.env.STOWAGE_SSH_PASSPHRASE;
    try {
      delete process.env.STOWAGE_SSH_PASSPHRASE;
      expect((await openError(config, keyed())).code).toBe("PermissionDenied");
      process.env.STOWAGE_SSH_PASSPHRASE = "wrong";
      expect((await openError(config, keyed())).code).toBe("PermissionDenied");
      process.env.STOWAGE_SSH_PASSPHRASE = "open sesame";
      const system = await open(config, keyed());
      expect((await system.exec("echo in")).stdout.toString()).toBe("in\n");
    } finally {
      if (saved === undefined) delete process.env.STOWAGE_SSH_PASSPHRASE;
      else process.env.STOWAGE_SSH_PASSPHRASE = saved;
    }
  });

  it("reads ~/.ssh/config, the default key and ~/.ssh/known_hosts under $HOME", async () => {
    const server = serverEnv();
    const home = scratch("ssh-home");
    const ssh = join(home, ".ssh");
    execFileSync("mkdir", ["-m", "700", ssh]);
    copyFileSync(server.key, join(ssh, "id_ed25519"));
    copyFileSync(server.knownHosts, join(ssh, "known_hosts"));
    writeFileSync(
      join(ssh, "config"),
      [
        "# A Match block applies only where its criteria hold, and later values never override earlier ones.",
        "Match originalhost !my-*",
        "  Port 1",
        "Host other.example !nothing my-*",
        "  HostName 127.0.0.1",
        `  Port ${server.port}`,
        "Host *",
        "  Port 2",
        `  User=${server.user}`,
        "  UserKnownHostsFile %d/.ssh/known_hosts",
      ].join("\n"),
    );
    const saved = { ...process.env };
    try {
      process.env.HOME = home;
      delete process.env.STOWAGE_SSH_CONFIG;
      delete process.env.SSH_AUTH_SOCK;
      const { SystemRegistry } = await import("../../src/systems/registry.js");
      const registry = new SystemRegistry();
      try {
        const system = full(await registry.open(parseAddress(`ssh://my-box${server.dir}`)));
        expect(system.id).toBe(`ssh:${server.user}@127.0.0.1:${server.port}`);
        await system.write(`${server.dir}/from-home/x.txt`, "via ~/.ssh/config");
        expect(readFileSync(`${server.dir}/from-home/x.txt`, "utf8")).toBe("via ~/.ssh/config");
      } finally {
        await registry.closeAll();
      }
    } finally {
      process.env = saved;
    }
  });
});
