/**
 * The ssh system's write paths against the test sshd: large streams through `cat` on an exec
 * channel, small files over several SFTP channels. The host's disk (this machine) checks the result.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { parseAddress } from "../../src/systems/addresses.js";
import { StowageError } from "../../src/errors.js";
import { ARCHIVE_NAME, unpack, UNPACK_LOOP } from "../../src/systems/ssh/batch.js";
import { CommandLoop, CommandLoops } from "../../src/systems/ssh/command-loop.js";
import { tarArchive } from "../../src/systems/ssh/tar.js";
import { SystemRegistry } from "../../src/systems/registry.js";
import { catInto, CatFailedError, startCat, startChecksummedRangeWrite, startRangeWrite } from "../../src/systems/ssh/exec-upload.js";
import { spanCommand } from "../../src/systems/ssh/exec.js";
import { hostTools } from "../../src/systems/ssh/host-tools.js";
import { createRangeHash } from "../../src/systems/range-checksum.js";
import type { SshSystem } from "../../src/systems/ssh/system.js";
import { seededBytes, seededStream } from "../support/seed.js";
import { codeOf, freshDir, serverEnv } from "./ssh-helpers.js";

const MiB = 1 << 20;
const DAY = 24 * 60 * 60 * 1000;
const registry = new SystemRegistry();
let system: SshSystem;

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/** A stream of `blocks` seeded 1 MiB blocks that fails or aborts after `stopAfter` of them. */
function stoppingStream(blocks: number, stopAfter: number, stop: (stream: Readable) => void): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent === stopAfter) return stop(this);
      if (sent === blocks) return void this.push(null);
      this.push(seededBytes(MiB, ++sent));
    },
  });
}

beforeAll(async () => {
  system = (await registry.open(parseAddress({ system: "ssh", host: serverEnv().alias, path: "/" }))) as SshSystem;
});
afterAll(() => registry.closeAll());

describe("large streams through cat", () => {
  it("the test host runs commands in a POSIX shell with cat and dd", async () => {
    const { client } = await system.connection.session();
    expect(await hostTools(client)).toEqual({ cat: true, dd: true, cksum: true });
  });

  it("spanCommand prints exactly the bytes of a span, whole MiB through dd", () => {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true });
    const content = seededBytes(5 * MiB + 321, 14);
    writeFileSync(`${dir}/spans.bin`, content);
    const spans = [
      { offset: 0, length: 0 },
      { offset: 0, length: 5 },
      { offset: 7, length: 3 * MiB },
      { offset: MiB, length: 2 * MiB },
      { offset: MiB, length: 4 * MiB + 321 },
      { offset: MiB - 1, length: 2 },
      { offset: 3 * MiB + 7, length: 2 * MiB + 314 },
      { offset: 0, length: content.length },
    ];
    for (const span of spans) {
      const command = spanCommand(`${dir}/spans.bin`, span);
      if (span.length >= 2 * MiB) expect(command).toContain("dd if=");
      const printed = execFileSync("sh", ["-c", command], { maxBuffer: 16 * MiB });
      expect(sha256(printed)).toBe(sha256(content.subarray(span.offset, span.offset + span.length)));
    }
  });

  it("startChecksummedRangeWrite writes a range at its offset and answers the host's cksum of it", async () => {
    const dir = freshDir();
    await system.mkdir(dir);
    const before = Buffer.alloc(4 * MiB, 7);
    writeFileSync(`${dir}/ranged.bin`, before);
    const { client } = await system.connection.session();
    // Whole MiB and a rest: both parts of the range are read back.
    const range = seededBytes(2 * MiB + 3, 12);
    const started = await startChecksummedRangeWrite(client, `${dir}/ranged.bin`, { offset: MiB, length: range.length });
    expect(await catInto(started.channel, Readable.from([range.subarray(0, 1000), range.subarray(1000)]), undefined)).toBe(range.length);
    const hash = createRangeHash("cksum");
    hash.update(range);
    expect(started.landed()).toBe(hash.digest());
    // The same as the host's cksum of those bytes, and only the range changed.
    expect(started.landed()).toBe(execFileSync("cksum", { input: range, encoding: "utf8" }).trim());
    const after = readFileSync(`${dir}/ranged.bin`);
    expect(Buffer.compare(after, Buffer.concat([before.subarray(0, MiB), range, before.subarray(3 * MiB + 3)]))).toBe(0);
  });

  it("startChecksummedRangeWrite reports a dd that cannot write as CatFailedError", async () => {
    const dir = freshDir();
    const { client } = await system.connection.session();
    const started = await startChecksummedRangeWrite(client, `${dir}/missing-parent/x.bin`, { offset: 0, length: 1 });
    const failed = await catInto(started.channel, Readable.from([Buffer.from("x")]), undefined).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(CatFailedError);
    expect((failed as CatFailedError).exitCode).not.toBe(0);
    expect(started.landed()).toBeUndefined();
  });

  it("startRangeWrite writes a range at its offset without touching the rest", async () => {
    const dir = freshDir();
    await system.mkdir(dir);
    const before = Buffer.alloc(3 << 20, 7);
    writeFileSync(`${dir}/ranged.bin`, before);
    const { client } = await system.connection.session();
    const range = Buffer.alloc(1 << 20, 9);
    const sent = await catInto(
      await startRangeWrite(client, `${dir}/ranged.bin`, 1 << 20),
      Readable.from([range.subarray(0, 1000), range.subarray(1000)]),
      undefined,
    );
    expect(sent).toBe(range.length);
    const after = readFileSync(`${dir}/ranged.bin`);
    expect(Buffer.compare(after, Buffer.concat([before.subarray(0, 1 << 20), range, before.subarray(2 << 20)]))).toBe(0);
    await expect(startRangeWrite(client, `${dir}/ranged.bin`, 1000)).rejects.toMatchObject({ code: "InvalidInput" });
  });

  it("catInto writes the stream byte-exact over an existing file", async () => {
    const dir = freshDir();
    await system.mkdir(dir);
    writeFileSync(`${dir}/target.bin`, "old content that is longer than nothing");
    const { client } = await system.connection.session();
    const { stream, sha256: sent } = seededStream(40 * MiB + 5, 31);
    expect(await catInto(await startCat(client, `${dir}/target.bin`), stream, undefined)).toBe(40 * MiB + 5);
    expect(sha256(readFileSync(`${dir}/target.bin`))).toBe(sent());
  });

  it("catInto reports a cat that cannot write as CatFailedError with its exit code", async () => {
    const dir = freshDir();
    const { client } = await system.connection.session();
    const failed = await catInto(await startCat(client, `${dir}/missing-parent/x.bin`), Readable.from([Buffer.from("x")]), undefined).catch(
      (error: unknown) => error,
    );
    expect(failed).toBeInstanceOf(CatFailedError);
    expect((failed as CatFailedError).exitCode).not.toBe(0);
  });

  it("once an aborted catInto has settled, nothing more reaches the file", async () => {
    const dir = freshDir();
    await system.mkdir(dir);
    const { client } = await system.connection.session();
    const controller = new AbortController();
    const body = stoppingStream(64, 8, () => controller.abort());
    const failed = await catInto(await startCat(client, `${dir}/partial.bin`), body, controller.signal).catch((error: unknown) => error);
    expect((failed as Error).name).toBe("AbortError");
    const size = statSync(`${dir}/partial.bin`).size;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(statSync(`${dir}/partial.bin`).size).toBe(size);
    expect(size).toBeLessThanOrEqual(8 * MiB);
  });

  it("a large stream lands byte-exact under its name, with no part file left", async () => {
    const dir = freshDir();
    const { stream, sha256: sent } = seededStream(48 * MiB + 17, 32);
    const result = await system.write(`${dir}/sub/big.bin`, stream, { size: 48 * MiB + 17 });
    expect(result.size).toBe(48 * MiB + 17);
    expect(sha256(readFileSync(`${dir}/sub/big.bin`))).toBe(sent());
    expect(readdirSync(`${dir}/sub`)).toEqual(["big.bin"]);
  });

  it("an aborted large write leaves neither the file nor a part file", async () => {
    const dir = freshDir();
    await system.mkdir(dir);
    const controller = new AbortController();
    const body = stoppingStream(64, 12, () => controller.abort());
    expect(await codeOf(system.write(`${dir}/aborted.bin`, body, { size: 64 * MiB, signal: controller.signal }))).toBe("Aborted");
    expect(readdirSync(dir)).toEqual([]);
  });

  it("a large write whose source fails leaves the old file as it was", async () => {
    const dir = freshDir();
    await system.write(`${dir}/kept.bin`, "the old version");
    const body = stoppingStream(64, 10, (stream) => stream.destroy(new Error("source failed mid-stream")));
    expect(await codeOf(system.write(`${dir}/kept.bin`, body, { size: 64 * MiB }))).toBeDefined();
    expect(readFileSync(`${dir}/kept.bin`, "utf8")).toBe("the old version");
    expect(readdirSync(dir)).toEqual(["kept.bin"]);
  });

  it("overwrite: false refuses an existing file with AlreadyExists and keeps it", async () => {
    const dir = freshDir();
    await system.write(`${dir}/taken.bin`, "first");
    const { stream } = seededStream(16 * MiB, 33);
    expect(await codeOf(system.write(`${dir}/taken.bin`, stream, { size: 16 * MiB, overwrite: false }))).toBe("AlreadyExists");
    expect(readFileSync(`${dir}/taken.bin`, "utf8")).toBe("first");
    expect(readdirSync(dir)).toEqual(["taken.bin"]);
  });

  it("more large writes at once than cat channels all land byte-exact (the rest go over SFTP)", async () => {
    const dir = freshDir();
    const streams = Array.from({ length: 7 }, (_, i) => seededStream(9 * MiB + 4 + i, 40 + i));
    await Promise.all(streams.map(({ stream }, i) => system.write(`${dir}/f${i}.bin`, stream, { size: 9 * MiB + 4 + i })));
    streams.forEach(({ sha256: sent }, i) => expect(sha256(readFileSync(`${dir}/f${i}.bin`))).toBe(sent()));
    expect(readdirSync(dir).sort()).toEqual(streams.map((_, i) => `f${i}.bin`).sort());
  });
});

describe("small files over several SFTP channels", () => {
  it("many concurrent small writes each land whole, with no part file left", async () => {
    const dir = freshDir();
    const count = 400;
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < count) {
          const i = next++;
          await system.write(`${dir}/d${i % 7}/f${i}.bin`, seededBytes(10_240 + i, i));
        }
      }),
    );
    for (let i = 0; i < count; i++) expect(readFileSync(`${dir}/d${i % 7}/f${i}.bin`).equals(seededBytes(10_240 + i, i))).toBe(true);
    const names = Array.from({ length: 7 }, (_, d) => readdirSync(`${dir}/d${d}`)).flat();
    expect(names).toHaveLength(count);
    expect(names.some((name) => name.endsWith(".stowage-part"))).toBe(false);
  });
});

describe("small files in batches (one tar archive unpacked on the host)", () => {
  const errorCode = (value: unknown) => (value instanceof StowageError ? value.code : "not a StowageError");
  const writeMany = (files: Array<{ path: string; body: Uint8Array }>, options?: { overwrite?: boolean }) => system.batches.writeMany(files, options);

  it("writes every file byte-exact, creating parent directories, and leaves no staging directory", async () => {
    const dir = freshDir();
    // Sizes around tar's 512-byte blocks, and an empty file.
    const sizes = [0, 1, 511, 512, 513, 10_240, 65_536, 200_001];
    const files = sizes.map((size, i) => ({ path: `${dir}/d${i % 3}/sub/f${i}.bin`, body: seededBytes(size, 100 + i) }));
    const outcomes = await writeMany(files);
    expect(outcomes.map((outcome) => (outcome instanceof Error ? errorCode(outcome) : outcome.size))).toEqual(sizes);
    for (const file of files) expect(readFileSync(file.path).equals(Buffer.from(file.body))).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(["d0", "d1", "d2"]);
  });

  it("replaces existing files by default, each appearing whole", async () => {
    const dir = freshDir();
    await system.write(`${dir}/a.txt`, "old a");
    const outcomes = await writeMany([
      { path: `${dir}/a.txt`, body: Buffer.from("new a") },
      { path: `${dir}/b.txt`, body: Buffer.from("new b") },
    ]);
    expect(outcomes.every((outcome) => !(outcome instanceof Error))).toBe(true);
    expect(readFileSync(`${dir}/a.txt`, "utf8")).toBe("new a");
    expect(readdirSync(dir).sort()).toEqual(["a.txt", "b.txt"]);
  });

  it("overwrite: false refuses only the files that exist, with AlreadyExists, and keeps them", async () => {
    const dir = freshDir();
    await system.write(`${dir}/taken.txt`, "keep me");
    const outcomes = await writeMany(
      [
        { path: `${dir}/taken.txt`, body: Buffer.from("lost") },
        { path: `${dir}/free.txt`, body: Buffer.from("landed") },
      ],
      { overwrite: false },
    );
    expect(errorCode(outcomes[0])).toBe("AlreadyExists");
    expect(outcomes[1]).toMatchObject({ path: `${dir}/free.txt`, size: 6 });
    expect(readFileSync(`${dir}/taken.txt`, "utf8")).toBe("keep me");
    expect(readdirSync(dir).sort()).toEqual(["free.txt", "taken.txt"]);
  });

  it("a target that is a directory fails alone with IsADirectory", async () => {
    const dir = freshDir();
    await system.mkdir(`${dir}/occupied/inner`);
    const outcomes = await writeMany([
      { path: `${dir}/occupied`, body: Buffer.from("x") },
      { path: `${dir}/fine.txt`, body: Buffer.from("y") },
    ]);
    expect(errorCode(outcomes[0])).toBe("IsADirectory");
    expect(outcomes[1]).not.toBeInstanceOf(Error);
    expect(readdirSync(dir).sort()).toEqual(["fine.txt", "occupied"]);
  });

  it("a batch whose parent is a file rejects with NotADirectory and writes nothing", async () => {
    const dir = freshDir();
    await system.write(`${dir}/plain`, "a file, not a directory");
    const failed = await writeMany([
      { path: `${dir}/plain/x.txt`, body: Buffer.from("x") },
      { path: `${dir}/other.txt`, body: Buffer.from("y") },
    ]).catch((error: unknown) => error);
    expect(errorCode(failed)).toBe("NotADirectory");
    expect(readdirSync(dir)).toEqual(["plain"]);
    expect(readFileSync(`${dir}/plain`, "utf8")).toBe("a file, not a directory");
  });

  it("the host's unpacking loop reports a tar that fails, and goes on with the next batch", async () => {
    const dir = freshDir();
    const { client } = await system.connection.session();
    const loop = await CommandLoop.start(client, UNPACK_LOOP);
    try {
      mkdirSync(`${dir}/empty-stage`, { recursive: true });
      const failed = await unpack(loop, `${dir}/empty-stage`, 1).catch((error: unknown) => error);
      expect(errorCode(failed)).toBe("Unexpected");
      mkdirSync(`${dir}/stage`);
      writeFileSync(`${dir}/stage/${ARCHIVE_NAME}`, tarArchive([{ name: "0", body: Buffer.from("unpacked") }]));
      await unpack(loop, `${dir}/stage`, 1);
      expect(readFileSync(`${dir}/stage/0`, "utf8")).toBe("unpacked");
    } finally {
      loop.close();
    }
  });

  it("a host whose shell cannot run the loop answers Unsupported; a loop that dies later, Unavailable", async () => {
    const { client } = await system.connection.session();
    const cannot = await CommandLoop.start(client, "echo 'fish: Unsupported syntax' >&2; exit 127");
    expect(errorCode(await unpack(cannot, `${freshDir()}/stage`, 1).catch((error: unknown) => error))).toBe("Unsupported");
    await vi.waitFor(() => expect(cannot.open).toBe(false));
    expect(errorCode(await unpack(cannot, `${freshDir()}/stage`, 1).catch((error: unknown) => error))).toBe("Unsupported");
    const dies = await CommandLoop.start(client, "read -r line; echo 0; read -r line; exit 1");
    await unpack(dies, "/first", 1);
    expect(errorCode(await unpack(dies, "/second", 1).catch((error: unknown) => error))).toBe("Unavailable");
  });

  it("an idle loop gives its channel back, and the next request starts a new one", async () => {
    const { client } = await system.connection.session();
    const loops = new CommandLoops("while IFS= read -r line; do echo 0; done", 1);
    const first = await loops.pick(client);
    expect((await first.request(["x"], "/x")).status).toBe(0);
    await vi.waitFor(() => expect(first.open).toBe(false), { timeout: 5000 });
    const second = await loops.pick(client);
    expect(second).not.toBe(first);
    expect((await second.request(["y"], "/y")).status).toBe(0);
    second.close();
  });

  it("a batch write removes the staging directories and part files writers left over a day ago, and keeps younger ones", async () => {
    const dir = freshDir();
    const stage = (nonce: string) => `${dir}/.stowage-batch-${nonce.repeat(16)}.stowage-part`;
    const daysAgo = (path: string, days: number) => utimesSync(path, new Date(Date.now() - days * DAY), new Date(Date.now() - days * DAY));
    mkdirSync(stage("a"), { recursive: true });
    writeFileSync(`${stage("a")}/0`, "unpacked by a writer that was killed");
    writeFileSync(`${stage("a")}/${ARCHIVE_NAME}`, "archive");
    daysAgo(stage("a"), 2);
    // A writer still running (its staging directory is fresh), and one less than a day old.
    mkdirSync(stage("b"));
    writeFileSync(`${stage("b")}/0`, "being unpacked");
    mkdirSync(stage("c"));
    daysAgo(stage("c"), 0.9);
    writeFileSync(`${dir}/.old.txt.0123456789abcdef.stowage-part`, "half a file");
    daysAgo(`${dir}/.old.txt.0123456789abcdef.stowage-part`, 3);
    // Old things that are not Stowage's stay.
    writeFileSync(`${dir}/old.txt`, "a user's file");
    daysAgo(`${dir}/old.txt`, 3);
    mkdirSync(`${dir}/.stowage-batch-not-a-part`);
    daysAgo(`${dir}/.stowage-batch-not-a-part`, 3);

    const outcomes = await writeMany([{ path: `${dir}/new.txt`, body: Buffer.from("new") }]);
    expect(outcomes.map(errorCode)).toEqual(["not a StowageError"]);
    expect(readdirSync(dir).sort()).toEqual(
      [".stowage-batch-not-a-part", stage("b").slice(dir.length + 1), stage("c").slice(dir.length + 1), "new.txt", "old.txt"].sort(),
    );
    expect(readFileSync(`${stage("b")}/0`, "utf8")).toBe("being unpacked");
  });

  it("a single write removes the part files writers left over a day ago beside it", async () => {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true });
    const stale = `${dir}/.big.bin.0123456789abcdef.stowage-part`;
    writeFileSync(stale, "half a file");
    utimesSync(stale, new Date(Date.now() - 2 * DAY), new Date(Date.now() - 2 * DAY));
    await system.write(`${dir}/small.txt`, "x");
    expect(readdirSync(dir)).toEqual(["small.txt"]);
  });

  it("listings do not show a batch being unpacked", async () => {
    const dir = freshDir();
    await system.mkdir(dir);
    writeFileSync(`${dir}/seen.txt`, "x");
    mkdirSync(`${dir}/.stowage-batch-0123456789abcdef.stowage-part`);
    writeFileSync(`${dir}/.stowage-batch-0123456789abcdef.stowage-part/0`, "half");
    const listed: string[] = [];
    for await (const entry of system.list(dir, { recursive: true })) listed.push(entry.path);
    expect(listed).toEqual([`${dir}/seen.txt`]);
  });
});

describe("copies on the host (cp through a command loop)", () => {
  const errorCodeOf = (value: unknown) => (value instanceof StowageError ? value.code : "not a StowageError");

  it("many copies at once each land whole, with no part file left", async () => {
    const dir = freshDir();
    const count = 60;
    await Promise.all(Array.from({ length: count }, (_, i) => system.write(`${dir}/src/f${i}.bin`, seededBytes(5000 + i, i))));
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < count) {
          const i = next++;
          await system.copy(`${dir}/src/f${i}.bin`, `${dir}/dst/sub${i % 3}/f${i}.bin`);
        }
      }),
    );
    for (let i = 0; i < count; i++) expect(readFileSync(`${dir}/dst/sub${i % 3}/f${i}.bin`).equals(seededBytes(5000 + i, i))).toBe(true);
    const names = [0, 1, 2].flatMap((d) => readdirSync(`${dir}/dst/sub${d}`));
    expect(names).toHaveLength(count);
  });

  it("a path with a newline is copied too (it cannot go through the loop)", async () => {
    const dir = freshDir();
    await system.write(`${dir}/odd\nname.txt`, "odd");
    await system.copy(`${dir}/odd\nname.txt`, `${dir}/copy\nof.txt`);
    expect(readFileSync(`${dir}/copy\nof.txt`, "utf8")).toBe("odd");
  });

  it("a cp that fails on the host rejects, leaving no target and no part file", async () => {
    const dir = freshDir();
    await system.mkdir(`${dir}/dst`);
    // A Unix socket passes the stat check (not a directory) but cannot be opened for reading.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(`${dir}/socket`, resolve));
    try {
      const failed = await system.copy(`${dir}/socket`, `${dir}/dst/x`).catch((error: unknown) => error);
      expect(errorCodeOf(failed)).toBe("Unexpected");
      expect(readdirSync(`${dir}/dst`)).toEqual([]);
      // The loop goes on with the next copy.
      await system.write(`${dir}/fine.txt`, "fine");
      await system.copy(`${dir}/fine.txt`, `${dir}/dst/fine.txt`);
      expect(readFileSync(`${dir}/dst/fine.txt`, "utf8")).toBe("fine");
    } finally {
      server.close();
    }
  });
});
