/**
 * Large files copied as several ranges at once (multi-stream), between the local disk and the SSH
 * host both ways: through the public `copy`, byte for byte; through the engine with the source's
 * reads counted, so the test knows the ranges were used; and with a range that fails mid-way,
 * which must leave neither the file nor a part file behind.
 */
import { randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { pipeline, Readable, Transform } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeSystems, copy, folder, isStowageError, openSystem } from "../../src/index.js";
import type { ByteRange, ReadOptions, System, UploadState } from "../../src/systems/contract.js";
import { readRange } from "../../src/systems/extensions.js";
import { full, type FullSystem } from "../support/full-system.js";
import { RANGE_WRITE_ALIGN } from "../../src/systems/contract.js";
import { splitRanges } from "../../src/transfer/multi-stream.js";
import { streamCopy } from "../../src/transfer/stream-copy.js";
import { sha256 } from "../support/measure.js";
import { tempDir } from "../support/process.js";
import { seededBytes } from "../support/seed.js";

const MiB = 1 << 20;
const content = seededBytes(9 * MiB + 777, 42);
const MULTI = { streams: 3, multiStreamCutoff: 2 * MiB };

/**
 * `system` with its reads recorded; with `failRange`, the read of that range fails after `failBytes`
 * (once `failAfter` has resolved, when given).
 */
function watched(system: System, failRange?: number, failAfter?: Promise<void>, failBytes = MiB): { system: System; reads: Array<ByteRange | undefined> } {
  const reads: Array<ByteRange | undefined> = [];
  const read = async (path: string, range: ByteRange | undefined, options: ReadOptions = {}): Promise<Readable> => {
    reads.push(range);
    const stream = await readRange(system, path, range, options);
    if (failRange === undefined || !range || !("offset" in range) || range.offset !== failRange) return stream;
    let passed = 0;
    const failing = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        passed += chunk.length;
        if (passed <= failBytes) return callback(null, chunk);
        void (failAfter ?? Promise.resolve()).then(() => callback(Object.assign(new Error("source went away"), { code: "ECONNRESET" })));
      },
    });
    pipeline(stream, failing, () => {});
    return failing;
  };
  // Every other member is the system's own, bound to it (its methods use private fields).
  const proxy = new Proxy(system, {
    get: (target, key) => {
      if (key === "read") return (path: string, options?: ReadOptions) => read(path, undefined, options);
      if (key === "readRange" && system.readRange) return read;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { system: proxy, reads };
}

/** An upload checkpoint for three ranges, and a promise that resolves once ranges 0 and 2 are saved as finished. */
function checkpointAwaitingOuterRanges(): { upload: { state: UploadState | undefined; save(state: UploadState): void }; finished: Promise<void> } {
  let othersFinished!: () => void;
  const finished = new Promise<void>((resolve) => (othersFinished = resolve));
  const upload = {
    state: undefined as UploadState | undefined,
    save(state: UploadState) {
      upload.state = state;
      if ((Number(state.multiStreamDone) & 0b101) === 0b101) othersFinished();
    },
  };
  return { upload, finished };
}

describe("multi-stream copies", () => {
  let localDir: string;
  let sshDir: string;
  let ssh: FullSystem;
  let file: System;

  beforeAll(async () => {
    localDir = tempDir("multi-stream");
    await folder(join(localDir, "src")).put({ "big.bin": content });
    sshDir = join(process.env.STOWAGE_TEST_SSH_DIR!, `multi-${randomUUID()}`);
    ssh = full(await openSystem(`ssh://${process.env.STOWAGE_TEST_SSH_HOST}/`));
    file = await openSystem(localDir);
    await ssh.write(`${sshDir}/src/big.bin`, content);
  });

  afterAll(async () => {
    await closeSystems();
  });

  it("cuts a file into at most `streams` contiguous ranges on whole MiB", () => {
    const ranges = splitRanges(content.length, 4);
    expect(ranges).toHaveLength(4);
    let next = 0;
    for (const range of ranges) {
      expect(range.offset).toBe(next);
      expect(range.offset % RANGE_WRITE_ALIGN).toBe(0);
      next = range.offset + range.length;
    }
    expect(next).toBe(content.length);
    expect(splitRanges(3 * MiB, 8)).toHaveLength(3);
    expect(splitRanges(MiB - 1, 4)).toEqual([{ offset: 0, length: MiB - 1 }]);
  });

  it("copies local → ssh and ssh → local byte for byte through copy()", async () => {
    const up = `${sshDir}/up`;
    const upReport = await copy(join(localDir, "src"), `ssh://${process.env.STOWAGE_TEST_SSH_HOST}${up}`, MULTI);
    expect(upReport.copied).toEqual([{ path: "big.bin", bytes: content.length }]);
    // The host is this machine: what landed is read straight from its disk.
    expect(sha256(await readFile(join(up, "big.bin")))).toBe(sha256(content));
    expect(await readdir(up)).toEqual(["big.bin"]);

    const down = join(localDir, "down");
    await copy(`ssh://${process.env.STOWAGE_TEST_SSH_HOST}${sshDir}/src`, down, MULTI);
    expect(sha256(await readFile(join(down, "big.bin")))).toBe(sha256(content));
    expect(await readdir(down)).toEqual(["big.bin"]);
  });

  for (const direction of ["local → ssh", "ssh → local"] as const) {
    it(`reads the source as ranges, ${direction}`, async () => {
      const [from, to, fromPath, toPath] =
        direction === "local → ssh"
          ? [file, ssh, join(localDir, "src", "big.bin"), `${sshDir}/engine/big.bin`]
          : [ssh, file, `${sshDir}/src/big.bin`, join(localDir, "engine", "big.bin")];
      const source = watched(from);
      const counted: number[] = [];
      const result = await streamCopy(source.system, await from.stat(fromPath), to, toPath, {
        overwrite: true,
        verify: true,
        ...MULTI,
        onBytes: (n) => counted.push(n),
      });
      expect(result.bytes).toBe(content.length);
      expect(counted.reduce((sum, n) => sum + n, 0)).toBe(content.length);
      expect(source.reads).toEqual(splitRanges(content.length, 3));
      // Both ends are this machine's disk.
      expect(sha256(await readFile(toPath))).toBe(sha256(content));
    });

    it(`leaves no file and no part file when a range fails, ${direction}`, async () => {
      const [from, to, fromPath, toDir] =
        direction === "local → ssh"
          ? [file, ssh, join(localDir, "src", "big.bin"), `${sshDir}/failed-${randomUUID()}`]
          : [ssh, file, `${sshDir}/src/big.bin`, join(localDir, `failed-${randomUUID()}`)];
      const source = watched(from, splitRanges(content.length, 3)[1]!.offset);
      const error = await streamCopy(source.system, await from.stat(fromPath), to, `${toDir}/big.bin`, {
        overwrite: true,
        verify: true,
        ...MULTI,
        onBytes: () => {},
      }).catch((e: unknown) => e);
      expect(isStowageError(error) && error.code).toBe("Unavailable");
      // Both ends are this machine's disk: nothing of the copy may remain in the directory.
      expect(await readdir(toDir)).toEqual([]);
    });
  }

  // Objects uploaded in parts carry no whole-file MD5, so their downloads can go as ranges too.
  for (const [name, address] of [
    ["s3", "s3://stowage-test"],
    ["azure", "az://stowage-test"],
  ] as const) {
    it(`downloads a multipart ${name} object to the local disk as ranges`, async () => {
      const store = full(await openSystem(address));
      const key = `/stowage-test/multi-stream-${randomUUID()}/big.bin`;
      await store.write(key, Readable.from([content.subarray(0, 6 * MiB), content.subarray(6 * MiB)]), { partSize: 5 * MiB, size: content.length });
      const stat = await store.stat(key);
      expect(stat.md5).toBeUndefined();
      const source = watched(store);
      const toPath = join(localDir, `from-${name}`, "big.bin");
      await streamCopy(source.system, stat, file, toPath, { overwrite: true, verify: true, ...MULTI, onBytes: () => {} });
      expect(source.reads).toEqual(splitRanges(content.length, 3));
      expect(sha256(await readFile(toPath))).toBe(sha256(content));
      await store.delete([key]);
    });
  }

  it("refuses a streams count that is not a non-negative integer, before copying", async () => {
    const destination = join(localDir, "refused");
    const error = await copy(join(localDir, "src"), destination, { streams: 1.5 }).catch((e: unknown) => e);
    expect(isStowageError(error) && error.code).toBe("InvalidInput");
    await expect(readdir(destination)).rejects.toMatchObject({ code: "ENOENT" });
  });

  for (const direction of ["local → ssh", "ssh → local"] as const) {
    it(`keeps the finished ranges and the progress of the failed one, and the next attempt copies only the rest, ${direction}`, async () => {
      const [from, to, fromPath, toDir] =
        direction === "local → ssh"
          ? [file, ssh, join(localDir, "src", "big.bin"), `${sshDir}/resumed-${randomUUID()}`]
          : [ssh, file, `${sshDir}/src/big.bin`, join(localDir, `resumed-${randomUUID()}`)];
      const ranges = splitRanges(content.length, 3);
      // Range 1 fails after 2 of its 4 MiB, once ranges 0 and 2 are recorded as finished.
      const { upload, finished } = checkpointAwaitingOuterRanges();
      const stat = await from.stat(fromPath);
      const failing = watched(from, ranges[1]!.offset, finished, 2 * MiB);
      const error = await streamCopy(failing.system, stat, to, `${toDir}/big.bin`, {
        overwrite: true,
        verify: true,
        ...MULTI,
        upload,
        onBytes: () => {},
      }).catch((e: unknown) => e);
      expect(isStowageError(error) && error.code).toBe("Unavailable");
      expect(Number(upload.state?.multiStreamDone)).toBe(0b101);
      // What range 1 got into the part file is recorded in whole MiB: on the local disk every
      // positioned write that returned (1 or 2 MiB, as the source's chunks fell); through dd on
      // the host only what sshd acknowledged, less what dd may still hold (maybe nothing).
      const held = String(upload.state?.multiStreamHeld).split(",").map(Number);
      expect(held).toHaveLength(3);
      expect(held[1]! % MiB).toBe(0);
      expect(held[1]).toBeLessThanOrEqual(2 * MiB);
      if (direction === "ssh → local") expect(held[1]).toBeGreaterThanOrEqual(MiB);
      // The part file stays for the next attempt; nothing is under the name yet.
      const kept = await readdir(toDir);
      expect(kept).toHaveLength(1);
      expect(kept[0]).toMatch(/\.stowage-part$/);

      const again = watched(from);
      const result = await streamCopy(again.system, stat, to, `${toDir}/big.bin`, { overwrite: true, verify: true, ...MULTI, upload, onBytes: () => {} });
      const rest = { offset: ranges[1]!.offset + held[1]!, length: ranges[1]!.length - held[1]! };
      expect(again.reads).toEqual([rest]);
      expect(result).toEqual({ bytes: rest.length, resumedBytes: ranges[0]!.length + ranges[2]!.length + held[1]! });
      expect(sha256(await readFile(`${toDir}/big.bin`))).toBe(sha256(content));
      expect(await readdir(toDir)).toEqual(["big.bin"]);
    });
  }

  it("a single-stream copy never appends to a part file written as ranges", async () => {
    const toDir = join(localDir, `switched-${randomUUID()}`);
    const ranges = splitRanges(content.length, 3);
    const { upload, finished } = checkpointAwaitingOuterRanges();
    const stat = await file.stat(join(localDir, "src", "big.bin"));
    await streamCopy(watched(file, ranges[1]!.offset, finished).system, stat, file, `${toDir}/big.bin`, {
      overwrite: true,
      verify: true,
      ...MULTI,
      upload,
      onBytes: () => {},
    }).catch(() => undefined);
    expect(await readdir(toDir)).toHaveLength(1);
    // The same file again as one stream: the holed part file is discarded, not continued.
    const single = watched(file);
    const result = await streamCopy(single.system, stat, file, `${toDir}/big.bin`, { overwrite: true, verify: true, streams: 1, upload, onBytes: () => {} });
    expect(single.reads).toEqual([undefined]);
    expect(result.resumedBytes).toBe(0);
    expect(sha256(await readFile(`${toDir}/big.bin`))).toBe(sha256(content));
    expect(await readdir(toDir)).toEqual(["big.bin"]);
  });

  it("keeps one stream with streams: 1", async () => {
    const source = watched(file);
    await streamCopy(source.system, await file.stat(join(localDir, "src", "big.bin")), ssh, `${sshDir}/single/big.bin`, {
      overwrite: true,
      verify: true,
      streams: 1,
      multiStreamCutoff: 2 * MiB,
      onBytes: () => {},
    });
    expect(source.reads).toEqual([undefined]);
    expect(sha256(await readFile(`${sshDir}/single/big.bin`))).toBe(sha256(content));
  });
});
