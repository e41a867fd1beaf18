/**
 * Large-object paths against the real server: an interrupted or aborted multipart upload leaves no
 * object and no pending upload; DeleteObjects over more than 1,000 keys; and the throughput of a
 * 256 MiB write and read (logged, not asserted).
 */
import { ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import type { FullSystem } from "../support/full-system.js";
import { Readable } from "node:stream";
import { beforeAll, describe, expect, it } from "vitest";
import { eachLimit, sha256Of } from "../support/measure.js";
import { abortingStream, seededBytes, seededStream } from "../support/seed.js";
import { codeOf, collect, MiB, pendingUploads, useTestBucket } from "./s3-helpers.js";

const testBucket = useTestBucket("multipart");
const BUCKET = testBucket.bucket;
let stowage: FullSystem;
let raw: S3Client;

/** Yields `bytes` bytes in 1 MiB chunks, then fails like a dropped source. */
function failingAfter(bytes: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= bytes) return void this.destroy(new Error("source failed mid-stream"));
      const chunk = seededBytes(Math.min(MiB, bytes - sent), sent + 1);
      sent += chunk.length;
      this.push(chunk);
    },
  });
}

beforeAll(() => {
  stowage = testBucket.stowage();
  raw = testBucket.raw();
});

describe("s3 multipart uploads", () => {
  it("aborts an upload whose body fails after several parts: no object, no pending upload", async () => {
    // 23 MiB in 5 MiB parts: four parts are full and sent before the body fails.
    const body = failingAfter(23 * MiB);
    const error = await stowage.write(`/${BUCKET}/broken/object.bin`, body, { partSize: 5 * MiB, concurrency: 2 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "StowageError", operation: "write" });
    expect((error as Error).cause).toMatchObject({ message: "source failed mid-stream" });
    expect(await codeOf(stowage.stat(`/${BUCKET}/broken/object.bin`))).toBe("NotFound");
    expect(await pendingUploads(raw, BUCKET, "broken/")).toEqual([]);
  });

  it("aborts an upload when the signal fires mid-stream: rejects Aborted, no object, no pending upload", async () => {
    const { stream, signal } = abortingStream(64 * MiB, 22 * MiB);
    const code = await codeOf(stowage.write(`/${BUCKET}/aborted/object.bin`, stream, { partSize: 5 * MiB, signal: signal }));
    expect(code).toBe("Aborted");
    expect(await codeOf(stowage.stat(`/${BUCKET}/aborted/object.bin`))).toBe("NotFound");
    expect(await pendingUploads(raw, BUCKET, "aborted/")).toEqual([]);
  });

  it("keeps the old object when its replacement fails mid-multipart", async () => {
    await stowage.write(`/${BUCKET}/replace/object.bin`, "old");
    await expect(stowage.write(`/${BUCKET}/replace/object.bin`, failingAfter(12 * MiB), { partSize: 5 * MiB })).rejects.toThrow();
    expect((await stowage.stat(`/${BUCKET}/replace/object.bin`)).size).toBe(3);
    expect(await pendingUploads(raw, BUCKET, "replace/")).toEqual([]);
  });

  it("rejects part sizes below S3's minimum", async () => {
    expect(await codeOf(stowage.write(`/${BUCKET}/tiny-parts.bin`, "x", { partSize: 1024 }))).toBe("InvalidInput");
  });
});

describe("s3 batch delete", () => {
  it("deletes more than 1,000 keys in batches (with Content-MD5, which Swift requires)", async () => {
    const count = 1_050;
    const names = Array.from({ length: count }, (_, i) => `f${String(i).padStart(4, "0")}.txt`);
    await eachLimit(names, 16, (name) => stowage.write(`/${BUCKET}/many/${name}`, name));
    await eachLimit(["a.txt", "b.txt"], 2, (name) => stowage.write(`/${BUCKET}/many-sibling/${name}`, name));
    expect((await collect(stowage.list(`/${BUCKET}/many`, { recursive: true }))).length).toBe(count);
    const started = Date.now();
    await stowage.delete([`/${BUCKET}/many`], { recursive: true });
    console.log(`[s3] DeleteObjects of ${count} keys in ${Date.now() - started} ms`);
    const left = await raw.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "many/" }));
    expect(left.KeyCount ?? 0).toBe(0);
    // "many/" is a prefix of keys only: "many-sibling/" is untouched.
    expect((await collect(stowage.list(`/${BUCKET}/many-sibling`))).length).toBe(2);
    // An explicit list of paths, present and missing, also goes in batches.
    const paths = names.map((name) => `/${BUCKET}/many/${name}`);
    await stowage.delete([...paths, `/${BUCKET}/many-sibling/a.txt`]);
    expect((await collect(stowage.list(`/${BUCKET}/many-sibling`))).map((e) => e.path)).toEqual([`/${BUCKET}/many-sibling/b.txt`]);
  }, 300_000);
});

describe("s3 throughput", () => {
  it("writes and reads 256 MiB as streams (logged)", async () => {
    const size = 256 * MiB;
    const source = seededStream(size, 9);
    let started = Date.now();
    const written = await stowage.write(`/${BUCKET}/throughput/256.bin`, source.stream);
    const writeSeconds = (Date.now() - started) / 1000;
    started = Date.now();
    const read = await sha256Of(await stowage.read(`/${BUCKET}/throughput/256.bin`));
    const readSeconds = (Date.now() - started) / 1000;
    expect(written.size).toBe(size);
    expect(read).toEqual({ sha256: source.sha256(), size });
    console.log(
      `[s3] 256 MiB: write ${writeSeconds.toFixed(2)} s (${(256 / writeSeconds).toFixed(0)} MiB/s), ` +
        `read ${readSeconds.toFixed(2)} s (${(256 / readSeconds).toFixed(0)} MiB/s), default 16 MiB parts × 4`,
    );
    await stowage.delete([`/${BUCKET}/throughput/256.bin`]);
  }, 600_000);
});
