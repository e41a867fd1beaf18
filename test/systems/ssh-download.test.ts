/**
 * The ssh system's batch reads against the test sshd: the host packs the files with its own tar
 * (a command loop), the archive comes back over SFTP. The host is this machine, so its disk holds
 * what was asked for.
 */
import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { parseAddress } from "../../src/systems/addresses.js";
import { isStowageError } from "../../src/errors.js";
import { pack, PACK_LOOP } from "../../src/systems/ssh/batch-read.js";
import { CAT_MARKER, catReader, startCatDownload } from "../../src/systems/ssh/exec-download.js";
import { readAll } from "../../src/systems/body.js";
import type { ClientChannel } from "ssh2";
import { CommandLoop } from "../../src/systems/ssh/command-loop.js";
import type { SshSystem } from "../../src/systems/ssh/system.js";
import { SystemRegistry } from "../../src/systems/registry.js";
import { seededBytes } from "../support/seed.js";
import { codeOf, freshDir, serverEnv } from "./ssh-helpers.js";

const registry = new SystemRegistry();
const DAY = 24 * 60 * 60 * 1000;
let system: SshSystem;

const names = [
  "plain.bin",
  "empty.txt",
  "sub/dir/nested.bin",
  "with space and ünïcode ✓.txt",
  "-starts-with-dash",
  "back\\slash\\n.txt",
  "quote'and\"dollar$HOME.txt",
  `${"long-directory-name/".repeat(6)}and-a-long-file-name-so-the-path-is-well-past-one-hundred-bytes.bin`,
];
const contents = names.map((_, i) => (i === 1 ? Buffer.alloc(0) : seededBytes(100 + i * 1000, i)));

function hostFiles(): string {
  const dir = freshDir();
  names.forEach((name, i) => {
    mkdirSync(dirname(`${dir}/${name}`), { recursive: true });
    writeFileSync(`${dir}/${name}`, contents[i]!);
  });
  return dir;
}

beforeAll(async () => {
  system = (await registry.open(parseAddress({ system: "ssh", host: serverEnv().alias, path: "/" }))) as SshSystem;
});
afterAll(() => registry.closeAll());

describe("ssh batch reads", () => {
  it("reads every file of a batch byte for byte, in order, whatever its name", async () => {
    const dir = hostFiles();
    const outcomes = await system.batchReads.readMany(names.map((name) => `${dir}/${name}`));
    expect(outcomes).toHaveLength(names.length);
    outcomes.forEach((outcome, i) => {
      expect(outcome, names[i]).toBeInstanceOf(Buffer);
      expect((outcome as Buffer).equals(contents[i]!)).toBe(true);
    });
  });

  it("follows a symlink to a file, as a read does", async () => {
    const dir = hostFiles();
    symlinkSync(`${dir}/plain.bin`, `${dir}/link.bin`);
    const [linked, plain] = await system.batchReads.readMany([`${dir}/link.bin`, `${dir}/plain.bin`]);
    expect((linked as Buffer).equals(contents[0]!)).toBe(true);
    expect((plain as Buffer).equals(contents[0]!)).toBe(true);
  });

  it("answers a file that is missing, or has a newline in its name, with its own error; the others still come", async () => {
    const dir = hostFiles();
    writeFileSync(`${dir}/new\nline.txt`, "x");
    const outcomes = await system.batchReads.readMany([`${dir}/plain.bin`, `${dir}/gone.bin`, `${dir}/new\nline.txt`, `${dir}/sub/dir/nested.bin`]);
    expect((outcomes[0] as Buffer).equals(contents[0]!)).toBe(true);
    expect(isStowageError(outcomes[1])).toBe(true);
    expect(isStowageError(outcomes[2])).toBe(true);
    expect((outcomes[3] as Buffer).equals(contents[2]!)).toBe(true);
  });

  it("a pack loop starting removes this user's archives left in the temp directory over a day ago, and keeps younger ones", async () => {
    const dir = hostFiles();
    const tmp = (await system.exec('printf %s "${TMPDIR:-/tmp}"')).stdout.toString("utf8");
    const nonce = randomBytes(4).toString("hex");
    const stale = `${tmp}/.stowage-pack.${nonce}old`;
    const young = `${tmp}/.stowage-pack.${nonce}new`;
    const other = `${tmp}/.not-stowage-pack.${nonce}`;
    for (const [path, days] of [
      [stale, 2],
      [young, 0.9],
      [other, 2],
    ] as const) {
      writeFileSync(path, "archive");
      utimesSync(path, new Date(Date.now() - days * DAY), new Date(Date.now() - days * DAY));
    }
    const { client } = await system.connection.session();
    const loop = await CommandLoop.start(client, PACK_LOOP);
    try {
      const archive = await pack(loop, dir, ["plain.bin"]);
      rmSync(archive);
      expect([stale, young, other].map((path) => existsSync(path))).toEqual([false, true, true]);
    } finally {
      loop.close();
      rmSync(young, { force: true });
      rmSync(other, { force: true });
    }
  });

  it("a host without tar, or without mktemp, answers Unsupported", async () => {
    const dir = hostFiles();
    const { client } = await system.connection.session();
    // A PATH holding only mktemp and rm: the loop's shell finds no tar (127).
    const bin = freshDir();
    const tmp = freshDir();
    mkdirSync(bin, { recursive: true });
    mkdirSync(tmp, { recursive: true });
    symlinkSync("/usr/bin/mktemp", `${bin}/mktemp`);
    symlinkSync(execFileSync("sh", ["-c", "command -v rm"], { encoding: "utf8" }).trim(), `${bin}/rm`);
    const noTar = await CommandLoop.start(client, `PATH='${bin}'; TMPDIR='${tmp}'; ${PACK_LOOP}`);
    const noMktemp = await CommandLoop.start(client, `PATH=/nonexistent; ${PACK_LOOP}`);
    try {
      expect(await codeOf(pack(noTar, dir, ["plain.bin"]))).toBe("Unsupported");
      expect(await codeOf(pack(noMktemp, dir, ["plain.bin"]))).toBe("Unsupported");
      // The archive mktemp made for the tar that was not there is gone again.
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      noTar.close();
      noMktemp.close();
    }
  });
});

describe("ssh reads of large files through cat", () => {
  const big = seededBytes(12 << 20, 42);

  function bigFile(): string {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}/big.bin`, big);
    return `${dir}/big.bin`;
  }

  async function exec(command: string): Promise<ClientChannel> {
    const { client } = await system.connection.session();
    return new Promise((resolve, reject) => client.exec(command, (error, channel) => (error ? reject(error) : resolve(channel))));
  }

  it("reads a whole large file, and a range of it, byte for byte", async () => {
    const path = bigFile();
    expect((await readAll(await system.read(path))).equals(big)).toBe(true);
    const range = await readAll(await system.readRange(path, { offset: 5 << 20, length: 3 }));
    expect(range.equals(big.subarray(5 << 20, (5 << 20) + 3))).toBe(true);
  });

  it("reads large ranges from a whole MiB through dd, byte for byte", async () => {
    const path = bigFile();
    const { client } = await system.connection.session();
    // The range starts on a MiB and ends inside one: dd sends whole blocks, the reader stops at the length.
    const middle = await readAll(catReader(await startCatDownload(client, path, { offset: 2 << 20, length: (5 << 20) + 123 }), (5 << 20) + 123, path));
    expect(middle.equals(big.subarray(2 << 20, (7 << 20) + 123))).toBe(true);
    // Through read(): a range of 8 MiB or more from a whole MiB on, to the end of the file, goes through dd.
    const exec = vi.spyOn(client, "exec");
    try {
      const tail = await readAll(await system.readRange(path, { offset: 3 << 20 }));
      expect(tail.equals(big.subarray(3 << 20))).toBe(true);
      expect(exec.mock.calls.map(([command]) => command).filter((command) => command.includes("exec dd if="))).toHaveLength(1);
    } finally {
      exec.mockRestore();
    }
    await expect(startCatDownload(client, path, { offset: 1000, length: 10 })).rejects.toMatchObject({ code: "InvalidInput" });
  });

  it("drops whatever the login shell prints before the marker", async () => {
    const path = bigFile();
    const marker = CAT_MARKER.toString("latin1").trim();
    const channel = await exec(`printf 'motd: welcome\\n%.0s' 1 2 3; printf '%s\\n' '${marker}'; cat '${path}'`);
    expect((await readAll(catReader(channel, big.length, path))).equals(big)).toBe(true);
  });

  it("ends at the size asked for, and fails with a code when cat fails or the file is short", async () => {
    const path = bigFile();
    const { client } = await system.connection.session();
    const first = await readAll(catReader(await startCatDownload(client, path), 1000, path));
    expect(first.equals(big.subarray(0, 1000))).toBe(true);
    expect(await codeOf(readAll(catReader(await startCatDownload(client, `${path}.missing`), 10, path)))).toBe("Unexpected");
    expect(await codeOf(readAll(catReader(await startCatDownload(client, path), big.length + 1, path)))).toBe("Conflict");
  });

  it("a reader destroyed half way closes its channel", async () => {
    const path = bigFile();
    const { client } = await system.connection.session();
    const channel = await startCatDownload(client, path);
    const closed = new Promise<void>((resolve) => channel.once("close", () => resolve()));
    const reader = catReader(channel, big.length, path);
    for await (const chunk of reader) {
      expect(chunk.length).toBeGreaterThan(0);
      break;
    }
    await closed;
    expect(reader.destroyed).toBe(true);
  });
});
