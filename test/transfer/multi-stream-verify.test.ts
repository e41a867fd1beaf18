/**
 * How a multi-stream copy checks content when the source has no checksum (a local file, a file on
 * an SSH host): each range is checksummed as it is read and compared with what landed. On an SSH
 * host the command that wrote a range with dd checksums it with POSIX cksum right after, so the
 * part file is not read again at the end; on the local disk each range of the part file is read
 * back under a CRC as soon as it is written. A byte damaged between the read and the write is
 * found either way: Conflict, retryable, nothing under the name, no part file.
 */
import { execFileSync } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import * as zlib from "node:zlib";
import type { Client } from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeSystems, folder, isStowageError, openSystem } from "../../src/index.js";
import type { RangeWriter, RangeWriterOptions, System } from "../../src/systems/contract.js";
import { createRangeHash, type RangeChecksum } from "../../src/systems/range-checksum.js";
import type { SshSystem } from "../../src/systems/ssh/system.js";
import { splitRanges } from "../../src/transfer/multi-stream.js";
import { streamCopy } from "../../src/transfer/stream-copy.js";
import { full, type FullSystem } from "../support/full-system.js";
import { sha256 } from "../support/measure.js";
import { tempDir } from "../support/process.js";
import { seededBytes } from "../support/seed.js";

const MiB = 1 << 20;
const content = seededBytes(9 * MiB + 777, 43);
const MULTI = { streams: 3, multiStreamCutoff: 2 * MiB };

function checksumOf(checksum: RangeChecksum, chunks: Uint8Array[]): string {
  const hash = createRangeHash(checksum);
  for (const chunk of chunks) hash.update(chunk);
  return hash.digest();
}

describe("range checksums", () => {
  const lengths = [0, 1, 15, 16, 17, 255, 256, 65_537, 3 * MiB + 5];

  it("cksum is what POSIX cksum prints, however the bytes are cut", () => {
    for (const length of lengths) {
      const bytes = seededBytes(length, length + 1);
      const expected = execFileSync("cksum", { input: bytes, encoding: "utf8" }).trim();
      expect(checksumOf("cksum", [bytes])).toBe(expected);
      expect(checksumOf("cksum", [bytes.subarray(0, length >> 1), bytes.subarray(length >> 1, length - 3), bytes.subarray(length - 3)])).toBe(expected);
    }
  });

  it("crc32 is zlib's CRC-32 and md5 is MD5, in hex", () => {
    for (const length of lengths) {
      const bytes = seededBytes(length, length + 2);
      expect(checksumOf("crc32", [bytes.subarray(0, 7), bytes.subarray(7)])).toBe(zlib.crc32(bytes).toString(16).padStart(8, "0"));
      expect(checksumOf("md5", [bytes])).toBe(createHash("md5").update(bytes).digest("hex"));
    }
  });
});

/** `system` whose range writers damage one byte of the range at `offset`, after the engine has read (and checksummed) it. */
function damaging(system: System, offset: number): System {
  const damage = (writer: RangeWriter): RangeWriter => ({
    state: writer.state,
    checksums: writer.checksums,
    digest: writer.digest,
    commit: () => writer.commit(),
    abort: () => writer.abort(),
    keep: () => writer.keep(),
    write: (at, length, body, options) => {
      if (at !== offset) return writer.write(at, length, body, options);
      let passed = 0;
      const flipped = async function* () {
        for await (const chunk of body) {
          const copy = Buffer.from(chunk);
          // One byte a little way into the range.
          if (passed <= 12_345 && 12_345 < passed + copy.length) copy[12_345 - passed]! ^= 0x20;
          passed += copy.length;
          yield copy;
        }
      };
      return writer.write(at, length, flipped(), options);
    },
  });
  return new Proxy(system, {
    get: (target, key) => {
      if (key === "openRangeWriter") return async (path: string, options: RangeWriterOptions) => damage(await target.openRangeWriter!(path, options));
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** The commands run on the host while `body` runs. */
async function hostCommands(ssh: SshSystem, body: () => Promise<unknown>): Promise<string[]> {
  const { client } = await ssh.connection.session();
  const commands: string[] = [];
  const exec = client.exec.bind(client) as (command: string, ...rest: unknown[]) => unknown;
  const recording = (command: string, ...rest: unknown[]) => {
    commands.push(command);
    return exec(command, ...rest);
  };
  (client as unknown as { exec: unknown }).exec = recording;
  try {
    await body();
  } finally {
    (client as { exec: Client["exec"] }).exec = exec as Client["exec"];
  }
  return commands;
}

describe("multi-stream copies without a source checksum", () => {
  let localDir: string;
  let sshDir: string;
  let ssh: FullSystem;
  let file: System;

  beforeAll(async () => {
    localDir = tempDir("multi-stream-verify");
    await folder(join(localDir, "src")).put({ "big.bin": content });
    sshDir = join(process.env.STOWAGE_TEST_SSH_DIR!, `multi-verify-${randomUUID()}`);
    ssh = full(await openSystem(`ssh://${process.env.STOWAGE_TEST_SSH_HOST}/`));
    file = await openSystem(localDir);
    await ssh.write(`${sshDir}/src/big.bin`, content);
  });

  afterAll(async () => {
    await closeSystems();
  });

  it("local → ssh: the host checksums each range as dd writes it, and reads no part file at the end", async () => {
    const to = `${sshDir}/checked/big.bin`;
    const from = await file.stat(join(localDir, "src", "big.bin"));
    const commands = await hostCommands(ssh as unknown as SshSystem, () =>
      streamCopy(file, from, ssh, to, { overwrite: true, verify: true, ...MULTI, onBytes: () => {} }),
    );
    const writes = commands.filter((command) => command.includes("dd of="));
    expect(writes).toHaveLength(3);
    // Each range's own command checksums it once written ...
    for (const write of writes) expect(write).toMatch(/&& .*dd if=.*\| cksum$/);
    // ... and no command reads the part file again at the end.
    expect(commands.filter((command) => !command.includes("dd of=") && /md5sum|cksum|dd if=|head -c/.test(command))).toEqual([]);
    expect(sha256(await readFile(to))).toBe(sha256(content));
  });

  for (const direction of ["local → ssh", "ssh → local"] as const) {
    it(`finds a byte damaged between the read and the write, ${direction}`, async () => {
      const [from, to, fromPath, toDir] =
        direction === "local → ssh"
          ? [file, ssh, join(localDir, "src", "big.bin"), `${sshDir}/damaged-${randomUUID()}`]
          : [ssh, file, `${sshDir}/src/big.bin`, join(localDir, `damaged-${randomUUID()}`)];
      const ranges = splitRanges(content.length, 3);
      const error = await streamCopy(from, await from.stat(fromPath), damaging(to, ranges[1]!.offset), `${toDir}/big.bin`, {
        overwrite: true,
        verify: true,
        ...MULTI,
        upload: { state: undefined, save: () => {} },
        onBytes: () => {},
      }).catch((e: unknown) => e);
      expect(isStowageError(error) && [error.code, error.retryable, error.operation]).toEqual(["Conflict", true, "verify"]);
      // Neither the file nor a part file to resume: both ends are this machine's disk.
      expect(await readdir(toDir)).toEqual([]);
    });
  }

  it("a host without cksum has each range digested by md5sum once it has landed", async () => {
    const session = await (ssh as unknown as SshSystem).connection.session();
    const tools = session.tools;
    session.tools = tools.then((found) => ({ ...found, cksum: false }));
    try {
      const to = `${sshDir}/md5/big.bin`;
      const ranges = splitRanges(content.length, 3);
      const commands = await hostCommands(ssh as unknown as SshSystem, async () => {
        const error = await streamCopy(file, await file.stat(join(localDir, "src", "big.bin")), damaging(ssh, ranges[2]!.offset), to, {
          overwrite: true,
          verify: true,
          ...MULTI,
          onBytes: () => {},
        }).catch((e: unknown) => e);
        expect(isStowageError(error) && [error.code, error.operation]).toEqual(["Conflict", "verify"]);
        await streamCopy(file, await file.stat(join(localDir, "src", "big.bin")), ssh, to, { overwrite: true, verify: true, ...MULTI, onBytes: () => {} });
      });
      expect(commands.filter((command) => command.includes("dd of=") && command.includes("cksum"))).toEqual([]);
      // Each range is digested once written: three for the copy that landed, at least the damaged one before.
      expect(commands.filter((command) => command.includes("md5sum")).length).toBeGreaterThanOrEqual(4);
      expect(sha256(await readFile(to))).toBe(sha256(content));
    } finally {
      session.tools = tools;
    }
  });
});
