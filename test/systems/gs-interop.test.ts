/**
 * Outside eyes: what Stowage writes to GCS, read with the raw @google-cloud/storage SDK, and what
 * the SDK writes, read through Stowage. Byte-equal both ways, including a large streamed object
 * and names with spaces, unicode and #?%+.
 */
import { createHash, randomBytes } from "node:crypto";
import { full, type FullSystem } from "../support/full-system.js";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Storage, type Bucket } from "@google-cloud/storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAddress } from "../../src/systems/addresses.js";
import { readAll } from "../../src/systems/body.js";
import type { Entry } from "../../src/systems/contract.js";
import { SystemRegistry } from "../../src/systems/registry.js";
import { TEST_BUCKET } from "../conformance/fixtures/gs.js";
import { sha256, sha256Of } from "../support/measure.js";
import { SPECIAL_NAMES, seededBytes, seededStream } from "../support/seed.js";

const MiB = 1 << 20;
const registry = new SystemRegistry();
const prefix = `interop-${randomBytes(4).toString("hex")}`;
const root = `/${TEST_BUCKET}/${prefix}`;
let stowage: FullSystem;
let raw: Bucket;

async function collect(iterable: AsyncIterable<Entry>): Promise<Entry[]> {
  const entries: Entry[] = [];
  for await (const entry of iterable) entries.push(entry);
  return entries;
}

async function rawRead(name: string): Promise<Buffer> {
  return readAll(raw.file(name).createReadStream());
}

beforeAll(async () => {
  stowage = full(await registry.open(parseAddress(`gs://${TEST_BUCKET}`)));
  // Built here, not through Stowage: it reads STORAGE_EMULATOR_HOST like any GCS user would.
  raw = new Storage().bucket(TEST_BUCKET);
});

afterAll(async () => {
  await raw.deleteFiles({ prefix: `${prefix}/`, force: true });
  await registry.closeAll();
});

describe("gs interop with the raw SDK", () => {
  it("the SDK reads byte-equal what Stowage wrote, with the metadata Stowage reports", async () => {
    const content = seededBytes(300_000, 21);
    const written = await stowage.write(`${root}/a/bytes.bin`, content);
    expect((await rawRead(`${prefix}/a/bytes.bin`)).equals(content)).toBe(true);
    const [metadata] = await raw.file(`${prefix}/a/bytes.bin`).getMetadata();
    expect(written).toEqual({
      path: `${root}/a/bytes.bin`,
      size: content.length,
      etag: metadata.etag,
      md5: Buffer.from(String(metadata.md5Hash), "base64").toString("hex"),
    });
    expect(written.md5).toBe(createHash("md5").update(content).digest("hex"));
    const stat = await stowage.stat(`${root}/a/bytes.bin`);
    expect(stat.md5).toBe(Buffer.from(metadata.md5Hash!, "base64").toString("hex"));
    expect(stat.mtime?.toISOString()).toBe(new Date(metadata.updated!).toISOString());
  });

  it("the SDK reads a large streamed object byte-equal", async () => {
    const source = seededStream(64 * MiB, 31);
    const written = await stowage.write(`${root}/large/streamed.bin`, source.stream);
    expect(written.size).toBe(64 * MiB);
    const read = await sha256Of(raw.file(`${prefix}/large/streamed.bin`).createReadStream());
    expect(read).toEqual({ sha256: source.sha256(), size: 64 * MiB });
  });

  it("keeps special names as the same object names on both sides", async () => {
    for (const name of SPECIAL_NAMES) await stowage.write(`${root}/special/${name}`, `stowage: ${name}`);
    const [files] = await raw.getFiles({ prefix: `${prefix}/special/` });
    expect(files.map((f) => f.name).sort()).toEqual(SPECIAL_NAMES.map((n) => `${prefix}/special/${n}`).sort());
    for (const name of SPECIAL_NAMES) {
      expect((await rawRead(`${prefix}/special/${name}`)).toString()).toBe(`stowage: ${name}`);
      await raw.file(`${prefix}/from-sdk/${name}`).save(`sdk: ${name}`, { resumable: false });
      expect((await readAll(await stowage.read(`${root}/from-sdk/${name}`))).toString()).toBe(`sdk: ${name}`);
    }
  });

  it("Stowage reads byte-equal, whole and by range, what the SDK wrote", async () => {
    const content = seededBytes(5 * MiB + 3, 41);
    await pipeline(Readable.from([content]), raw.file(`${prefix}/sdk/object.bin`).createWriteStream({ resumable: true }));
    const path = `${root}/sdk/object.bin`;
    expect(sha256(await readAll(await stowage.read(path)))).toBe(sha256(content));
    const slice = await readAll(await stowage.readRange(path, { offset: MiB - 7, length: 2 * MiB }));
    expect(slice.equals(content.subarray(MiB - 7, 3 * MiB - 7))).toBe(true);
    const tail = await readAll(await stowage.readRange(path, { suffix: 100 }));
    expect(tail.equals(content.subarray(-100))).toBe(true);
  });

  it("copies inside GCS: the SDK sees the copy, byte-equal, under a special name", async () => {
    const content = seededBytes(2 * MiB + 5, 51);
    await stowage.write(`${root}/copy/source #1.bin`, content);
    await stowage.copy(`${root}/copy/source #1.bin`, `${root}/copy/to/ünï cødé+%?.bin`);
    expect((await rawRead(`${prefix}/copy/to/ünï cødé+%?.bin`)).equals(content)).toBe(true);
    expect((await rawRead(`${prefix}/copy/source #1.bin`)).equals(content)).toBe(true);
  });

  it("treats a folder placeholder object made by other tools as a directory, not a file", async () => {
    await raw.file(`${prefix}/folder/`).save("", { resumable: false });
    await raw.file(`${prefix}/folder/inside.txt`).save("inside", { resumable: false });
    expect((await stowage.stat(`${root}/folder`)).type).toBe("directory");
    expect((await collect(stowage.list(`${root}/folder`))).map((e) => [e.path, e.type])).toEqual([[`${root}/folder/inside.txt`, "file"]]);
    expect((await collect(stowage.list(`${root}/folder`, { recursive: true }))).map((e) => e.path)).toEqual([`${root}/folder/inside.txt`]);
    // Recursive delete removes the placeholder too.
    await stowage.delete([`${root}/folder`], { recursive: true });
    const [left] = await raw.getFiles({ prefix: `${prefix}/folder` });
    expect(left.map((f) => f.name)).toEqual([]);
  });

  it("stats buckets and the root as directories", async () => {
    // The emulator has no bucket API; a bucket is seen through the objects in it.
    expect(await stowage.stat(`/${TEST_BUCKET}`)).toEqual({ path: `/${TEST_BUCKET}`, type: "directory", size: 0 });
    expect((await stowage.stat("/")).type).toBe("directory");
    const missing = await stowage.stat(`/no-such-bucket-${prefix}`).catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: "NotFound", system: "gs", operation: "stat" });
  });
});
