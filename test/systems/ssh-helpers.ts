/** Shared pieces of the ssh system tests: the test server's settings and the OpenSSH CLI. */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "vitest";
import { isStowageError, type StowageError } from "../../src/errors.js";
import { tempDir } from "../support/process.js";

const run = promisify(execFile);

export function serverEnv() {
  const need = (name: string) => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set: the sshd test server did not start (test/servers/sshd.ts)`);
    return value;
  };
  return {
    config: need("STOWAGE_SSH_CONFIG"),
    alias: need("STOWAGE_TEST_SSH_HOST"),
    dir: need("STOWAGE_TEST_SSH_DIR"),
    port: Number(need("STOWAGE_TEST_SSH_PORT")),
    user: need("STOWAGE_TEST_SSH_USER"),
    key: need("STOWAGE_TEST_SSH_KEY"),
    knownHosts: need("STOWAGE_TEST_SSH_KNOWN_HOSTS"),
    authorizedKeys: need("STOWAGE_TEST_SSH_AUTHORIZED_KEYS"),
  };
}

const scratchDirs: string[] = [];

/** A local temp dir removed by `removeScratch()` (call it in afterAll). */
export function scratch(prefix: string): string {
  const dir = tempDir(prefix);
  scratchDirs.push(dir);
  return dir;
}

export function removeScratch(): void {
  for (const dir of scratchDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A fresh directory on the host for one test. */
export function freshDir(): string {
  return `${serverEnv().dir}/${randomBytes(6).toString("hex")}`;
}

/** Runs OpenSSH's `sftp` in batch mode against the test server; fails if any command fails. */
export async function sftpBatch(commands: string[]): Promise<string> {
  const { config, alias } = serverEnv();
  const batch = join(scratch("sftp-batch"), "batch");
  writeFileSync(batch, commands.join("\n") + "\n");
  const { stdout } = await run("sftp", ["-F", config, "-b", batch, alias], { maxBuffer: 16 << 20 });
  return stdout;
}

/** Quotes a path for an sftp batch file. */
export function sftpQuote(path: string): string {
  return `"${path.replace(/(["\\])/g, "\\$1")}"`;
}

/** The code of the StowageError `promise` rejects with, or undefined when it resolves. */
export async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    expect(isStowageError(error), String(error)).toBe(true);
    return (error as StowageError).code;
  }
}
