/**
 * How the s3 system sends its requests: it reuses the SDK's resolved middleware chain per command
 * and bucket (context.ts), so concurrent requests to different buckets must still each reach their
 * own bucket, and a request with an abort signal must still be abortable.
 */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { full, type FullSystem } from "../support/full-system.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAddress } from "../../src/systems/addresses.js";
import { readAll } from "../../src/systems/body.js";
import { SystemRegistry } from "../../src/systems/registry.js";
import { codeOf, rawClient, uniqueBucket } from "./s3-helpers.js";

const BUCKETS = [uniqueBucket("requests-a"), uniqueBucket("requests-b"), uniqueBucket("requests-c")];
const PER_BUCKET = 40;
const registry = new SystemRegistry();
let stowage: FullSystem;
let raw: S3Client;

beforeAll(async () => {
  stowage = full(await registry.open(parseAddress(`s3://${BUCKETS[0]}`)));
  raw = rawClient();
});

afterAll(async () => {
  await Promise.all(BUCKETS.map((bucket) => stowage.delete([`/${bucket}`], { recursive: true }).catch(() => undefined)));
  raw.destroy();
  await registry.closeAll();
});

const content = (bucket: string, i: number) => `${bucket} object ${i}`;

async function rawKeys(bucket: string): Promise<string[]> {
  const page = await raw.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (page.Contents ?? []).map((object) => object.Key ?? "").sort();
}

describe("s3 requests", () => {
  it("writes, stats and reads in several buckets at once through one system, each object in its own bucket", async () => {
    // Interleaved, so requests of the same kind to different buckets are in flight together.
    const jobs = Array.from({ length: PER_BUCKET }, (_, i) => BUCKETS.map((bucket) => ({ bucket, i }))).flat();
    await Promise.all(jobs.map(({ bucket, i }) => stowage.write(`/${bucket}/k/${i}.txt`, content(bucket, i))));

    const expected = Array.from({ length: PER_BUCKET }, (_, i) => `k/${i}.txt`).sort();
    for (const bucket of BUCKETS) expect(await rawKeys(bucket)).toEqual(expected);
    for (const bucket of BUCKETS) {
      const response = await raw.send(new GetObjectCommand({ Bucket: bucket, Key: "k/7.txt" }));
      expect(await response.Body!.transformToString()).toBe(content(bucket, 7));
    }

    const stats = await Promise.all(jobs.map(({ bucket, i }) => stowage.stat(`/${bucket}/k/${i}.txt`)));
    expect(stats.map((stat) => stat.size)).toEqual(jobs.map(({ bucket, i }) => Buffer.byteLength(content(bucket, i))));
    const read = await Promise.all(jobs.map(async ({ bucket, i }) => (await readAll(await stowage.read(`/${bucket}/k/${i}.txt`))).toString()));
    expect(read).toEqual(jobs.map(({ bucket, i }) => content(bucket, i)));
  });

  it("aborts a request whose signal fires, after requests of the same kind and bucket ran without one", async () => {
    const path = `/${BUCKETS[0]}/abort/object.txt`;
    await stowage.write(path, "here");
    expect((await stowage.stat(path)).size).toBe(4);
    const controller = new AbortController();
    const stat = stowage.stat(path, { signal: controller.signal });
    controller.abort();
    expect(await codeOf(stat)).toBe("Aborted");
    // And the requests without a signal still work afterwards.
    expect((await stowage.stat(path)).size).toBe(4);
  });
});
