/**
 * Content checks on every copy path: a TCP proxy in front of the S3 server flips one byte of what
 * comes down. A plain stream copy of a multipart object (checked against its recomputed ETag), a
 * multi-stream copy (the destination digests its part file before publishing) and a resumed copy
 * (the prefix a cut attempt kept holds the damaged byte) must each find it: the copy retries and
 * lands byte for byte, and a run without retries fails Conflict with nothing under the final name
 * at any moment, nor a part file to resume. None of these paths checked more than the size before.
 */
import { randomUUID } from "node:crypto";
import { watch } from "node:fs";
import { mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeSystems, copy, folder, isStowageError, openSystem, TransferError } from "../../src/index.js";
import type { ByteRange, ReadOptions, System } from "../../src/systems/contract.js";
import { readRange } from "../../src/systems/extensions.js";
import { inferPartSize } from "../../src/transfer/checksums.js";
import { splitRanges } from "../../src/transfer/multi-stream.js";
import { streamCopy } from "../../src/transfer/stream-copy.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { full } from "../support/full-system.js";
import { sha256 } from "../support/measure.js";
import { tempDir } from "../support/process.js";
import { seededBytes } from "../support/seed.js";

const MiB = 1 << 20;
/** Uploaded in 5 MiB parts: three, and only 5 MiB cuts this size into three (so its ETag is checkable). */
const multipart = seededBytes(11 * MiB + 4321, 501);
/** Uploaded in one request: its ETag is its MD5. */
const plain = seededBytes(24 * MiB + 99, 502);
const MULTI = { streams: 3, multiStreamCutoff: 2 * MiB };

/** Whether `name` ever appears in `dir` while it is watched (a rename into place is an event). */
function watchName(dir: string, name: string): { appeared: () => Promise<boolean>; close: () => void } {
  let seen = false;
  const watcher = watch(dir, (_event, filename) => {
    if (filename === name) seen = true;
  });
  return {
    appeared: async () => {
      // Events come asynchronously: let the last ones arrive.
      await new Promise((resolve) => setTimeout(resolve, 200));
      return seen || (await readdir(dir)).includes(name);
    },
    close: () => watcher.close(),
  };
}

/** `system` with the ranges its reads asked for recorded. */
function recorded(system: System): { system: System; reads: Array<ByteRange | undefined> } {
  const reads: Array<ByteRange | undefined> = [];
  const read = (path: string, range: ByteRange | undefined, options: ReadOptions = {}): Promise<Readable> => {
    reads.push(range);
    return readRange(system, path, range, options);
  };
  const proxy = new Proxy(system, {
    get: (target, key) => {
      if (key === "read") return (path: string, options?: ReadOptions) => read(path, undefined, options);
      if (key === "readRange") return read;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { system: proxy, reads };
}

describe("content checks through a connection that damages bytes", () => {
  let proxy: TcpProxy;
  const prefix = `verify-${randomUUID()}`;
  const bucket = `s3://stowage-test/${prefix}`;

  beforeAll(async () => {
    const endpoint = new URL(process.env.AWS_ENDPOINT_URL!);
    proxy = await startTcpProxy(Number(endpoint.port));
    // Every S3 request of this test file goes through the proxy.
    process.env.AWS_ENDPOINT_URL = `http://127.0.0.1:${proxy.port}`;
    const local = tempDir("verify-src");
    await folder(join(local, "multi")).put({ "model.bin": multipart });
    await folder(join(local, "plain")).put({ "model.bin": plain });
    await copy(join(local, "multi"), `${bucket}/multi`, { partSize: 5 * MiB });
    await copy(join(local, "plain"), `${bucket}/plain`, { partSize: 64 * MiB });
    const [multiEntry] = await folder(`${bucket}/multi`).ls({ details: true });
    const [plainEntry] = await folder(`${bucket}/plain`).ls({ details: true });
    // The sources are what each test needs: a multipart ETag whose part size is pinned, a plain MD5.
    expect(multiEntry?.etag).toMatch(/^[0-9a-f]{32}-3$/);
    expect(inferPartSize(multipart.length, 3)).toBe(5 * MiB);
    expect(plainEntry?.md5).toMatch(/^[0-9a-f]{32}$/);
  });

  afterAll(async () => {
    await closeSystems();
    await proxy.close();
  });

  describe("a plain stream copy of a multipart object to the local disk", () => {
    it("fails Conflict with no retries, never showing the damaged file under its name", async () => {
      const local = tempDir("verify-stream-fail");
      await mkdir(local, { recursive: true });
      const watcher = watchName(local, "model.bin");
      const flips = proxy.flips;
      proxy.flipDownAfter(4 * MiB);
      const error = await copy(`${bucket}/multi`, local, { retries: 0 }).catch((e: unknown) => e);
      expect(proxy.flips).toBe(flips + 1);
      expect(error).toBeInstanceOf(TransferError);
      expect(error).toMatchObject({ code: "Conflict", retryable: true });
      expect(await watcher.appeared()).toBe(false);
      watcher.close();
      // No part file either: a damaged one is not kept to resume.
      expect(await readdir(local)).toEqual([]);
    });

    it("retries and lands byte for byte", async () => {
      const local = tempDir("verify-stream");
      const flips = proxy.flips;
      proxy.flipDownAfter(4 * MiB);
      const report = await copy(`${bucket}/multi`, local);
      expect(proxy.flips).toBe(flips + 1);
      expect(report.failed).toEqual([]);
      expect(sha256(await readFile(join(local, "model.bin")))).toBe(sha256(multipart));
      expect(await readdir(local)).toEqual(["model.bin"]);
    });
  });

  describe("a multi-stream copy", () => {
    for (const where of ["local disk", "ssh host"] as const) {
      it(`checks the part file before publishing it, to the ${where}`, async () => {
        const s3 = await openSystem("s3://stowage-test");
        const key = `/stowage-test/${prefix}/multi/model.bin`;
        const dir = where === "local disk" ? tempDir("verify-ranges") : join(process.env.STOWAGE_TEST_SSH_DIR!, `verify-ranges-${randomUUID()}`);
        // The SSH host is this machine: its files are read straight from the disk.
        const destination = full(await openSystem(where === "local disk" ? dir : `ssh://${process.env.STOWAGE_TEST_SSH_HOST}/`));
        await destination.mkdir(dir);
        const to = join(dir, "model.bin");
        const source = recorded(s3);
        const watcher = watchName(dir, "model.bin");
        const flips = proxy.flips;
        proxy.flipDownAfter(6 * MiB);
        const error = await streamCopy(source.system, await s3.stat(key), destination, to, {
          overwrite: true,
          verify: true,
          ...MULTI,
          onBytes: () => {},
        }).catch((e: unknown) => e);
        expect(proxy.flips).toBe(flips + 1);
        // It went as ranges, each read once.
        expect(source.reads).toEqual(splitRanges(multipart.length, 3));
        expect(isStowageError(error) && [error.code, error.retryable]).toEqual(["Conflict", true]);
        expect(await watcher.appeared()).toBe(false);
        watcher.close();
        expect(await readdir(dir)).toEqual([]);

        // Through copy(), with its retries: lands byte for byte. (Streamed through this process: a
        // copy run on the host has its own tests.)
        proxy.flipDownAfter(6 * MiB);
        const url = where === "local disk" ? dir : `ssh://${process.env.STOWAGE_TEST_SSH_HOST}${dir}`;
        const report = await copy(`${bucket}/multi`, url, { ...MULTI, remote: "never" });
        expect(proxy.flips).toBe(flips + 2);
        expect(report.failed).toEqual([]);
        expect(sha256(await readFile(to))).toBe(sha256(multipart));
        expect(await readdir(dir)).toEqual(["model.bin"]);
      });
    }
  });

  describe("a resumed copy whose kept part file holds the damaged byte", () => {
    it("fails Conflict on the re-run with no retries, leaving nothing, and the next run starts over", async () => {
      const local = tempDir("verify-resume-fail");
      await mkdir(local, { recursive: true });
      const flips = proxy.flips;
      // The first run is cut after 12 MiB, the byte at 2 MiB damaged: its part file keeps both.
      proxy.flipDownAfter(2 * MiB);
      proxy.cutAfter(12 * MiB, { down: true });
      const cut = await copy(`${bucket}/plain`, local, { retries: 0 }).catch((e: unknown) => e);
      expect(cut).toBeInstanceOf(TransferError);
      expect((cut as TransferError).retryable).toBe(true);
      expect(proxy.flips).toBe(flips + 1);
      expect((await readdir(local)).filter((name) => name.endsWith(".stowage-part"))).toHaveLength(1);

      // The re-run resumes from that part file and finds the damage before publishing.
      const watcher = watchName(local, "model.bin");
      const error = await copy(`${bucket}/plain`, local, { retries: 0 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransferError);
      expect(error).toMatchObject({ code: "Conflict", retryable: true });
      expect(await watcher.appeared()).toBe(false);
      watcher.close();
      expect(await readdir(local)).toEqual([]);

      const report = await copy(`${bucket}/plain`, local);
      expect(report.copied[0]?.resumedBytes).toBeUndefined();
      expect(sha256(await readFile(join(local, "model.bin")))).toBe(sha256(plain));
    });

    it("retries within one run: the resumed attempt is refused, the next one lands byte for byte", async () => {
      const local = tempDir("verify-resume");
      const [flips, cuts] = [proxy.flips, proxy.cuts];
      proxy.flipDownAfter(2 * MiB);
      proxy.cutAfter(12 * MiB, { down: true });
      const report = await copy(`${bucket}/plain`, local);
      expect([proxy.flips, proxy.cuts]).toEqual([flips + 1, cuts + 1]);
      expect(report.failed).toEqual([]);
      expect(sha256(await readFile(join(local, "model.bin")))).toBe(sha256(plain));
      expect(await readdir(local)).toEqual(["model.bin"]);
    });
  });
});
