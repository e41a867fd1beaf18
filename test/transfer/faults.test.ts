/**
 * Faults between the caller and a server: a TCP proxy in front of the S3 server cuts connections
 * mid-transfer. A copy retries and completes; when the server stays down it fails clearly with no
 * partial file at the destination, and a re-run resumes instead of starting over: finished files
 * are skipped and a large file's finished multipart parts are reused, counted by the proxy.
 */
import { randomUUID } from "node:crypto";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TransferError, closeSystems, copy, folder, type ProgressEvent } from "../../src/index.js";
import { sha256 } from "../support/measure.js";
import { tempDir } from "../support/process.js";
import { seededBytes } from "../support/seed.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";

const MiB = 1 << 20;
const FILES = 8;
const content = (i: number) => seededBytes(4 * MiB, 100 + i);
const BIG_SIZE = 40 * MiB;
const PART = 5 * MiB;
const big = seededBytes(BIG_SIZE, 300);

describe("transfers through a failing connection", () => {
  let proxy: TcpProxy;
  let source: string;
  let bigSource: string;

  beforeAll(async () => {
    const endpoint = new URL(process.env.AWS_ENDPOINT_URL!);
    proxy = await startTcpProxy(Number(endpoint.port));
    // Every S3 request of this test file goes through the proxy.
    process.env.AWS_ENDPOINT_URL = `http://127.0.0.1:${proxy.port}`;
    source = join(tempDir("faults"), "src");
    await folder(source).put(Object.fromEntries(Array.from({ length: FILES }, (_, i) => [`part-${i}.bin`, content(i)])));
    bigSource = join(tempDir("faults-big"), "big");
    await folder(bigSource).put({ "model.bin": big });
  });

  afterAll(async () => {
    await closeSystems();
    await proxy.close();
  });

  async function expectComplete(destination: string, names: string[]): Promise<void> {
    for (const name of names) {
      const i = Number(/part-(\d+)/.exec(name)![1]);
      expect(sha256(await folder(destination).get(name)), name).toBe(sha256(content(i)));
    }
  }

  it("retries after the connection drops mid-transfer and completes", async () => {
    const destination = `s3://stowage-test/faults-${randomUUID()}`;
    proxy.cutAfter(10 * MiB);
    const report = await copy(source, destination, { concurrency: 2 });
    expect(proxy.cuts).toBeGreaterThan(0);
    expect(report.copied).toHaveLength(FILES);
    expect(report.failed).toEqual([]);
    await expectComplete(destination, await folder(destination).ls());
  });

  it("fails with a retryable error and no partial file when the server stays down, then resumes", async () => {
    const destination = `s3://stowage-test/resume-${randomUUID()}`;
    proxy.cutAfter(14 * MiB, { thenRefuse: true });
    const error = await copy(source, destination, { concurrency: 2, retries: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransferError);
    const report = (error as TransferError).report;
    // A server that drops every connection looks unavailable or timed out: either way, retryable.
    expect(["Unavailable", "Timeout"]).toContain((error as TransferError).code);
    expect((error as TransferError).retryable).toBe(true);
    expect(report.failed.length).toBeGreaterThan(0);
    proxy.refuse = false;
    // Whatever landed is whole: every object under its final name has its full content. An upload
    // may land although its response was lost in the cut, so landed ⊇ reported as copied.
    const landed = await folder(destination).ls();
    const copied = report.copied.map((f) => f.path).sort();
    expect(landed).toEqual(expect.arrayContaining(copied));
    expect(copied.length).toBeGreaterThan(0);
    expect(landed.length).toBeLessThan(FILES);
    await expectComplete(destination, landed);

    // The re-run skips what the first run finished and copies the rest, instead of starting over.
    const rerun = await copy(source, destination, { concurrency: 2 });
    expect(rerun.skipped.map((f) => f.path).sort()).toEqual(copied);
    expect(rerun.skipped.every((f) => f.reason === "resumed")).toBe(true);
    expect(rerun.copied.length).toBe(FILES - copied.length);
    await expectComplete(destination, await folder(destination).ls());
    expect(await folder(destination).ls()).toHaveLength(FILES);
  });

  it("retries a large file from its finished parts instead of from its first byte", async () => {
    const destination = `s3://stowage-test/part-retry-${randomUUID()}`;
    // The SDK would resend the cut part itself; with one attempt per request the engine retries.
    await closeSystems();
    process.env.AWS_MAX_ATTEMPTS = "1";
    proxy.resetCounters();
    proxy.cutAfter(22 * MiB);
    const report = await copy(bigSource, destination, { partSize: PART, partConcurrency: 1 }).finally(async () => {
      delete process.env.AWS_MAX_ATTEMPTS;
      await closeSystems();
    });
    expect(proxy.cuts).toBeGreaterThan(0);
    const resumed = report.copied[0]!.resumedBytes ?? 0;
    expect(resumed).toBeGreaterThanOrEqual(3 * PART);
    // What went up: the attempt that was cut, then only the parts after the reused ones (+ HTTP overhead).
    expect(proxy.bytesUp).toBeLessThan(22 * MiB + (BIG_SIZE - resumed) + MiB);
    expect(sha256(await folder(destination).get("model.bin"))).toBe(sha256(big));
  });

  it("re-runs a failed copy of a large file from the multipart parts the first run finished", async () => {
    const destination = `s3://stowage-test/part-resume-${randomUUID()}`;
    proxy.cutAfter(22 * MiB, { thenRefuse: true });
    const error = await copy(bigSource, destination, { partSize: PART, partConcurrency: 1, retries: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransferError);
    expect((error as TransferError).retryable).toBe(true);
    proxy.refuse = false;
    expect(await folder(destination).ls()).toEqual([]);

    proxy.resetCounters();
    const rerun = await copy(bigSource, destination, { partSize: PART, partConcurrency: 1 });
    const resumed = rerun.copied[0]!.resumedBytes ?? 0;
    expect(resumed).toBeGreaterThanOrEqual(3 * PART);
    expect(proxy.bytesUp).toBeLessThan(BIG_SIZE - resumed + MiB);
    expect(sha256(await folder(destination).get("model.bin"))).toBe(sha256(big));
  });

  it("fails with a retryable Timeout, instead of hanging, when the server stops answering mid-transfer", async () => {
    const destination = `s3://stowage-test/stall-${randomUUID()}`;
    await closeSystems();
    process.env.STOWAGE_IDLE_TIMEOUT = "1";
    process.env.AWS_MAX_ATTEMPTS = "1";
    let started = 0;
    const stallMidway = (event: ProgressEvent) => {
      if (event.type !== "rate" || event.bytesDone < 8 * MiB || proxy.stall) return;
      proxy.stall = true;
      started = Date.now();
    };
    const error = await copy(bigSource, destination, { retries: 0, partSize: PART, onProgress: stallMidway, progressInterval: 10 })
      .catch((e: unknown) => e)
      .finally(async () => {
        delete process.env.STOWAGE_IDLE_TIMEOUT;
        delete process.env.AWS_MAX_ATTEMPTS;
        proxy.stall = false;
        await closeSystems();
      });
    expect(started).toBeGreaterThan(0);
    expect(error).toBeInstanceOf(TransferError);
    expect(error).toMatchObject({ code: "Timeout", retryable: true });
    // Well before the test's own timeout: the idle timeout fired, nothing waited forever.
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await folder(destination).exists()).toBe(false);
  });

  it("re-runs a download cut mid-file from the partial file it left, hidden beside the target", async () => {
    const bucket = `s3://stowage-test/download-${randomUUID()}`;
    await copy(bigSource, bucket);
    const local = join(tempDir("faults-download"), "ckpt");
    proxy.cutAfter(22 * MiB, { down: true, thenRefuse: true });
    const error = await copy(bucket, local, { retries: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransferError);
    expect((error as TransferError).retryable).toBe(true);
    proxy.refuse = false;
    // Nothing under the final name; the partial file is hidden from listings.
    expect(await folder(local).ls()).toEqual([]);
    expect((await readdir(local)).filter((name) => name.endsWith(".stowage-part"))).toHaveLength(1);

    proxy.resetCounters();
    const rerun = await copy(bucket, local);
    const resumed = rerun.copied[0]!.resumedBytes ?? 0;
    expect(resumed).toBeGreaterThanOrEqual(10 * MiB);
    expect(proxy.bytesDown).toBeLessThan(BIG_SIZE - resumed + MiB);
    expect(sha256(await readFile(join(local, "model.bin")))).toBe(sha256(big));
    expect(await readdir(local)).toEqual(["model.bin"]);
  });
});
