/**
 * Outside eyes: a raw S3Client reads what Stowage wrote and Stowage reads what the raw client wrote,
 * byte for byte, including a multipart object and keys with spaces, unicode and "#?%+". Also the
 * server-side copy paths (CopyObject and UploadPartCopy) and bucket-level paths.
 */
import { createHash } from "node:crypto";
import { has, need } from "../../src/systems/extensions.js";
import { full, type FullSystem } from "../support/full-system.js";
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAddress } from "../../src/systems/addresses.js";
import { loadConfig } from "../../src/systems/config.js";
import { readAll } from "../../src/systems/body.js";
import { SystemRegistry } from "../../src/systems/registry.js";
import { createS3System } from "../../src/systems/s3/system.js";
import { seededBytes, SPECIAL_NAMES } from "../support/seed.js";
import { codeOf, collect, MiB, pendingUploads, rawClient, uniqueBucket } from "./s3-helpers.js";

const BUCKET = uniqueBucket("interop");
const registry = new SystemRegistry();
let stowage: FullSystem;
let raw: S3Client;

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

async function rawGet(key: string): Promise<Buffer> {
  const response = await raw.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await response.Body!.transformToByteArray());
}

async function rawEtag(key: string): Promise<string> {
  return (await raw.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).ETag!.replaceAll('"', "");
}

beforeAll(async () => {
  stowage = full(await registry.open(parseAddress(`s3://${BUCKET}`)));
  raw = rawClient();
});

afterAll(async () => {
  await stowage.delete([`/${BUCKET}`], { recursive: true });
  raw.destroy();
  await registry.closeAll();
});

describe("s3 interop with the raw SDK", () => {
  it("writes that the raw SDK reads byte for byte, creating the bucket on first write", async () => {
    const small = seededBytes(1000, 1);
    const result = await stowage.write(`/${BUCKET}/plain/small.bin`, small);
    expect(await rawGet("plain/small.bin")).toEqual(small);
    // A single-part ETag is the MD5, and stat says so.
    const md5 = createHash("md5").update(small).digest("hex");
    expect(result.etag).toBe(md5);
    expect(await stowage.stat(`/${BUCKET}/plain/small.bin`)).toMatchObject({ type: "file", size: 1000, etag: md5, md5 });
  });

  it("sends a caller's MD5 for the server to check: a matching body is stored, a damaged one refused and not stored", async () => {
    const body = seededBytes(10_240, 7);
    const md5 = createHash("md5").update(body).digest("hex");
    const stored = await stowage.write(`/${BUCKET}/md5/good.bin`, body, { md5 });
    expect(stored.md5).toBe(md5);
    expect(await rawGet("md5/good.bin")).toEqual(body);

    const wrong = createHash("md5").update("something else").digest("hex");
    const refused = await stowage.write(`/${BUCKET}/md5/bad.bin`, body, { md5: wrong }).then(
      () => undefined,
      (error: unknown) => error as { code: string; retryable: boolean },
    );
    expect(refused).toMatchObject({ code: "Conflict", retryable: true });
    expect(await codeOf(stowage.stat(`/${BUCKET}/md5/bad.bin`))).toBe("NotFound");
  });

  it("writes a multipart object the raw SDK reads whole; its ETag has a part count and no md5", async () => {
    const big = seededBytes(12 * MiB + 5, 2);
    const result = await stowage.write(`/${BUCKET}/multi/part.bin`, big, { partSize: 5 * MiB, concurrency: 2 });
    expect(result.size).toBe(big.length);
    expect(result.etag).toMatch(/-3$/);
    expect(await rawEtag("multi/part.bin")).toBe(result.etag);
    expect(sha256(await rawGet("multi/part.bin"))).toBe(sha256(big));
    const stat = await stowage.stat(`/${BUCKET}/multi/part.bin`);
    expect(stat.etag).toBe(result.etag);
    expect(stat.md5).toBeUndefined();
    // Stowage reads it back too, whole and across a part boundary.
    expect(sha256(await readAll(await stowage.read(`/${BUCKET}/multi/part.bin`)))).toBe(sha256(big));
    const across = await readAll(await stowage.readRange(`/${BUCKET}/multi/part.bin`, { offset: 5 * MiB - 10, length: 20 }));
    expect(across).toEqual(big.subarray(5 * MiB - 10, 5 * MiB + 10));
    expect(await pendingUploads(raw, BUCKET, "multi/")).toEqual([]);
  });

  it("keeps special names intact both ways", async () => {
    for (const name of SPECIAL_NAMES) {
      await stowage.write(`/${BUCKET}/special/${name}`, `by stowage: ${name}`);
      expect((await rawGet(`special/${name}`)).toString()).toBe(`by stowage: ${name}`);
      await raw.send(new PutObjectCommand({ Bucket: BUCKET, Key: `raw/${name}`, Body: `by raw: ${name}` }));
      expect((await readAll(await stowage.read(`/${BUCKET}/raw/${name}`))).toString()).toBe(`by raw: ${name}`);
    }
    const listed = (await collect(stowage.list(`/${BUCKET}/raw`))).map((e) => e.path).sort();
    expect(listed).toEqual(SPECIAL_NAMES.map((n) => `/${BUCKET}/raw/${n}`).sort());
  });

  it("treats a 'dir/' marker object made by another tool as a directory, not a file", async () => {
    await raw.send(new PutObjectCommand({ Bucket: BUCKET, Key: "marked/", Body: "" }));
    await raw.send(new PutObjectCommand({ Bucket: BUCKET, Key: "marked/inside.txt", Body: "x" }));
    expect((await stowage.stat(`/${BUCKET}/marked`)).type).toBe("directory");
    expect((await collect(stowage.list(`/${BUCKET}/marked`))).map((e) => e.path)).toEqual([`/${BUCKET}/marked/inside.txt`]);
    expect((await collect(stowage.list(`/${BUCKET}/marked`, { recursive: true }))).map((e) => e.path)).toEqual([`/${BUCKET}/marked/inside.txt`]);
  });

  it("answers for buckets and the root", async () => {
    expect(await stowage.stat(`/${BUCKET}`)).toMatchObject({ type: "directory", path: `/${BUCKET}` });
    expect((await stowage.stat("/")).type).toBe("directory");
    expect(await codeOf(stowage.stat(`/${uniqueBucket("absent")}`))).toBe("NotFound");
    expect(await collect(stowage.list(`/${uniqueBucket("absent")}/x`))).toEqual([]);
    const buckets = (await collect(stowage.list("/"))).map((e) => e.path);
    expect(buckets).toContain(`/${BUCKET}`);
    expect(has(stowage, "exec")).toBe(false);
    expect(await codeOf(Promise.resolve().then(() => need(stowage, "exec")))).toBe("Unsupported");
  });

  it("refuses overwrite:false for an existing object, also where the server lacks conditional PUTs", async () => {
    await stowage.write(`/${BUCKET}/once/a.txt`, "first", { overwrite: false });
    expect(await codeOf(stowage.write(`/${BUCKET}/once/a.txt`, "second", { overwrite: false }))).toBe("AlreadyExists");
    // A body large enough for multipart goes through the same check.
    const big = seededBytes(6 * MiB, 3);
    expect(await codeOf(stowage.write(`/${BUCKET}/once/a.txt`, big, { overwrite: false, partSize: 5 * MiB }))).toBe("AlreadyExists");
    await stowage.write(`/${BUCKET}/once/big.bin`, big, { overwrite: false, partSize: 5 * MiB });
    expect((await rawGet("once/a.txt")).toString()).toBe("first");
    expect(sha256(await rawGet("once/big.bin"))).toBe(sha256(big));
  });
});

describe("s3 server-side copy", () => {
  it("copies with CopyObject, keys with special characters on both sides", async () => {
    const content = seededBytes(100_000, 4);
    for (const name of SPECIAL_NAMES) {
      await stowage.write(`/${BUCKET}/copy-src/${name}`, content);
      await stowage.copy(`/${BUCKET}/copy-src/${name}`, `/${BUCKET}/copy-dst/${name}`);
      expect(sha256(await rawGet(`copy-dst/${name}`))).toBe(sha256(content));
    }
    expect(await codeOf(stowage.copy(`/${BUCKET}/copy-src/${SPECIAL_NAMES[0]}`, `/${BUCKET}/copy-dst/${SPECIAL_NAMES[1]}`, { overwrite: false }))).toBe(
      "AlreadyExists",
    );
  });

  it("copies objects above copyPartSize with UploadPartCopy, from single-part and multipart sources", async () => {
    const partCopier = full(await createS3System(parseAddress(`s3://${BUCKET}`), { ...loadConfig(), s3: { ...loadConfig().s3, copyPartSize: 5 * MiB } }));
    try {
      const content = seededBytes(12 * MiB + 3, 5);
      // Single part source (its ETag is an MD5, so the part copies are pinned to it).
      await stowage.write(`/${BUCKET}/big-copy/single.bin`, content);
      expect(await rawEtag("big-copy/single.bin")).not.toContain("-");
      await partCopier.copy(`/${BUCKET}/big-copy/single.bin`, `/${BUCKET}/big-copy/to/single copy ü.bin`);
      expect(await rawEtag("big-copy/to/single copy ü.bin")).toMatch(/-3$/);
      expect(sha256(await rawGet("big-copy/to/single copy ü.bin"))).toBe(sha256(content));
      // Multipart source.
      await stowage.write(`/${BUCKET}/big-copy/multi.bin`, content, { partSize: 5 * MiB });
      await partCopier.copy(`/${BUCKET}/big-copy/multi.bin`, `/${BUCKET}/big-copy/to/multi#copy.bin`);
      expect(await rawEtag("big-copy/to/multi#copy.bin")).toMatch(/-3$/);
      expect(sha256(await rawGet("big-copy/to/multi#copy.bin"))).toBe(sha256(content));
      expect(await pendingUploads(raw, BUCKET, "big-copy/")).toEqual([]);
      // Into a bucket that does not exist yet: created, as for writes.
      const other = uniqueBucket("copy-target");
      await partCopier.copy(`/${BUCKET}/big-copy/multi.bin`, `/${other}/copied.bin`);
      expect((await stowage.stat(`/${other}/copied.bin`)).size).toBe(content.length);
      await stowage.delete([`/${other}`], { recursive: true });
      expect(await codeOf(stowage.stat(`/${other}`))).toBe("NotFound");
    } finally {
      await partCopier.close();
    }
  });
});
