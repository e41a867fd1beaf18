/**
 * The ssh system seen from outside: OpenSSH's own `sftp` client and the host's file system check
 * what Stowage wrote, and Stowage reads what they wrote.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAddress } from "../../src/systems/addresses.js";
import { StowageError } from "../../src/errors.js";
import { readAll } from "../../src/systems/body.js";
import { SystemRegistry } from "../../src/systems/registry.js";
import type { SshSystem } from "../../src/systems/ssh/system.js";
import { seededBytes, seededStream } from "../support/seed.js";
import { codeOf, freshDir, removeScratch, scratch, serverEnv, sftpBatch, sftpQuote } from "./ssh-helpers.js";

const MiB = 1 << 20;
const registry = new SystemRegistry();
let system: SshSystem;

beforeAll(async () => {
  system = (await registry.open(parseAddress({ system: "ssh", host: serverEnv().alias, path: "/" }))) as SshSystem;
});
afterAll(async () => {
  await registry.closeAll();
  removeScratch();
});

describe("ssh seen by the OpenSSH sftp client", () => {
  it("sftp get returns exactly what Stowage wrote", async () => {
    const dir = freshDir();
    const content = seededBytes(3 * MiB + 12345, 5);
    await system.write(`${dir}/sub/written by stowage.bin`, content);
    const local = join(scratch("ssh-get"), "got.bin");
    await sftpBatch([`get ${sftpQuote(`${dir}/sub/written by stowage.bin`)} ${sftpQuote(local)}`]);
    expect(readFileSync(local).equals(content)).toBe(true);
  });

  it("Stowage reads exactly what sftp put wrote, whole and by range", async () => {
    const dir = freshDir();
    const content = seededBytes(2 * MiB + 7, 9);
    const local = join(scratch("ssh-put"), "put.bin");
    writeFileSync(local, content);
    await sftpBatch([`mkdir ${sftpQuote(dir)}`, `put ${sftpQuote(local)} ${sftpQuote(`${dir}/put by sftp.bin`)}`]);
    expect((await readAll(await system.read(`${dir}/put by sftp.bin`))).equals(content)).toBe(true);
    const tail = await readAll(await system.readRange(`${dir}/put by sftp.bin`, { suffix: 1000 }));
    expect(tail.equals(content.subarray(content.length - 1000))).toBe(true);
    const middle = await readAll(await system.readRange(`${dir}/put by sftp.bin`, { offset: MiB - 3, length: 300_000 }));
    expect(middle.equals(content.subarray(MiB - 3, MiB - 3 + 300_000))).toBe(true);
    const entries = await collectPaths(system.list(dir));
    expect(entries).toEqual([`${dir}/put by sftp.bin`]);
  });

  it("an interrupted write leaves neither the file nor a temp file, as sftp ls -a and the disk show", async () => {
    const dir = freshDir();
    await system.mkdir(dir);
    let sent = 0;
    const body = new Readable({
      read() {
        if (sent >= 20 * MiB) return void this.destroy(new Error("source failed mid-stream"));
        sent += MiB;
        this.push(seededBytes(MiB, sent));
      },
    });
    await expect(system.write(`${dir}/broken.bin`, body)).rejects.toBeInstanceOf(StowageError);
    expect(readdirSync(dir)).toEqual([]);
    const listing = await sftpBatch([`ls -a ${sftpQuote(dir)}`]);
    expect(listing).not.toMatch(/broken|stowage-part/);
  });
});

describe("ssh writes", () => {
  it("overwrite: false holds under a race: of two writers, exactly one wins", async () => {
    const dir = freshDir();
    // Both pass the early existence check, so the plain SFTP rename is what must refuse the loser.
    const results = await Promise.allSettled([
      system.write(`${dir}/race.bin`, seededBytes(4 * MiB, 1), { overwrite: false }),
      system.write(`${dir}/race.bin`, seededBytes(4 * MiB, 2), { overwrite: false }),
    ]);
    const fulfilled = results.filter((r) => r.status === "fulfilled");
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(fulfilled).toHaveLength(1);
    expect(rejected).toHaveLength(1);
    expect((rejected[0]!.reason as StowageError).code).toBe("AlreadyExists");
    const winner = results[0].status === "fulfilled" ? 1 : 2;
    expect(readFileSync(`${dir}/race.bin`).equals(seededBytes(4 * MiB, winner))).toBe(true);
    expect(readdirSync(dir)).toEqual(["race.bin"]);
  });

  it("refuses to replace a directory with a file", async () => {
    const dir = freshDir();
    await system.mkdir(`${dir}/taken/sub`);
    expect(await codeOf(system.write(`${dir}/taken`, "x"))).toBe("IsADirectory");
    expect(readdirSync(dir)).toEqual(["taken"]);
  });

  it("deletes a non-empty directory only with recursive, including leftover part files", async () => {
    const dir = freshDir();
    await system.write(`${dir}/tree/a/b.txt`, "b");
    writeFileSync(`${dir}/tree/a/.b.txt.0123456789abcdef.stowage-part`, "stale");
    expect(await codeOf(system.delete([`${dir}/tree`]))).toBe("Conflict");
    await system.delete([`${dir}/tree`], { recursive: true });
    expect(existsSync(`${dir}/tree`)).toBe(false);
  });

  it("measures a 256 MiB write and read (logged, not asserted)", async () => {
    const dir = freshDir();
    const size = 256 * MiB;
    const { stream, sha256 } = seededStream(size, 21);
    let started = performance.now();
    await system.write(`${dir}/big.bin`, stream);
    const writeSeconds = (performance.now() - started) / 1000;
    const written = sha256();
    started = performance.now();
    const hash = createHash("sha256");
    for await (const chunk of await system.read(`${dir}/big.bin`)) hash.update(chunk as Buffer);
    const readSeconds = (performance.now() - started) / 1000;
    expect(hash.digest("hex")).toBe(written);
    const rate = (seconds: number) => `${(size / MiB / seconds).toFixed(0)} MiB/s`;
    process.stdout.write(`[ssh] 256 MiB write ${writeSeconds.toFixed(2)} s (${rate(writeSeconds)}), read ${readSeconds.toFixed(2)} s (${rate(readSeconds)})\n`);
    await system.delete([dir], { recursive: true });
  });
});

describe("ssh connection", () => {
  it("negotiates AES-GCM", async () => {
    const { negotiated } = await system.connection.session();
    expect(negotiated.cs.cipher).toBe("aes128-gcm@openssh.com");
    expect(negotiated.sc.cipher).toBe("aes128-gcm@openssh.com");
  });

  it("resolves /~ to the login directory", async () => {
    const { home } = await system.connection.session();
    const pwd = await system.exec("pwd");
    expect(pwd.stdout.toString().trim()).toBe(home);
    expect((await system.stat("/~")).type).toBe("directory");
    const name = `.stowage-test-${randomBytes(6).toString("hex")}`;
    try {
      await system.write(`/~/${name}/x.txt`, "home");
      expect(readFileSync(join(home, name, "x.txt"), "utf8")).toBe("home");
      expect(await collectPaths(system.list(`/~/${name}`))).toEqual([`/~/${name}/x.txt`]);
    } finally {
      await system.delete([`/~/${name}`], { recursive: true });
    }
  });

  it("reconnects when the connection drops between operations", async () => {
    const dir = freshDir();
    await system.write(`${dir}/before.txt`, "before");
    const first = await system.connection.session();
    // Kill the sshd process serving this connection (the parent of the command's shell).
    await system.exec("kill -9 $PPID").catch(() => undefined);
    await new Promise<void>((resolve) => (first.client.listenerCount("close") > 0 ? first.client.once("close", () => resolve()) : resolve()));
    expect(await readAll(await system.read(`${dir}/before.txt`))).toEqual(Buffer.from("before"));
    expect(await system.connection.session()).not.toBe(first);
  });
});

describe("ssh exec and server-side copy", () => {
  it("exec returns stdout, stderr and the exit code, and passes stdin", async () => {
    const chunks: Buffer[] = [];
    const result = await system.exec("tr a-z A-Z; echo oops >&2; exit 3", { stdin: "hello stdin", onStdout: (chunk) => chunks.push(chunk) });
    expect(result.code).toBe(3);
    expect(result.stdout.toString()).toBe("HELLO STDIN");
    expect(result.stderr.toString()).toBe("oops\n");
    expect(Buffer.concat(chunks).toString()).toBe("HELLO STDIN");
  });

  it("exec reports a command killed by a signal as 128 + the signal number", async () => {
    const result = await system.exec("kill -TERM $$");
    expect(result.code).toBe(128 + 15);
  });

  it("exec can be aborted without waiting for the command", async () => {
    // sshd delivers the KILL request to the command for ordinary users; for root logins OpenSSH 9.2
    // refuses it ("session signalling requires privilege separation"), so only the prompt
    // rejection is checked here.
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const started = Date.now();
    expect(await codeOf(system.exec("sleep 5", { signal: controller.signal }))).toBe("Aborted");
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("copies names that would break an unquoted shell command, and runs nothing from them", async () => {
    const dir = freshDir();
    mkdirSync(dir);
    const names = ["it's here.txt", "$(touch pwned).txt", "semi;colon `x`.txt", "new\nline.txt", "-dash.txt"];
    for (const name of names) {
      await system.write(`${dir}/${name}`, `content of ${name}`);
      await system.copy(`${dir}/${name}`, `${dir}/copies/${name}`);
      expect(readFileSync(join(dir, "copies", name), "utf8")).toBe(`content of ${name}`);
    }
    expect(existsSync(join(dir, "pwned"))).toBe(false);
    expect(existsSync("pwned")).toBe(false);
    expect(readdirSync(join(dir, "copies")).sort()).toEqual([...names].sort());
  });

  it("copy honours overwrite: false and reports a missing source as NotFound", async () => {
    const dir = freshDir();
    await system.write(`${dir}/a.txt`, "a");
    await system.write(`${dir}/b.txt`, "b");
    expect(await codeOf(system.copy(`${dir}/a.txt`, `${dir}/b.txt`, { overwrite: false }))).toBe("AlreadyExists");
    expect(readFileSync(`${dir}/b.txt`, "utf8")).toBe("b");
    expect(await codeOf(system.copy(`${dir}/missing.txt`, `${dir}/c.txt`))).toBe("NotFound");
    await system.copy(`${dir}/a.txt`, `${dir}/b.txt`);
    expect(readFileSync(`${dir}/b.txt`, "utf8")).toBe("a");
    expect(readdirSync(dir).sort()).toEqual(["a.txt", "b.txt"]);
  });
});

async function collectPaths(iterable: AsyncIterable<{ path: string }>): Promise<string[]> {
  const paths: string[] = [];
  for await (const entry of iterable) paths.push(entry.path);
  return paths.sort();
}
