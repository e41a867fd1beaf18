/**
 * Outside eyes: the raw @azure/storage-blob SDK, built here and not through Stowage, reads what
 * Stowage wrote and writes what Stowage reads.
 */
import { createHash, randomBytes } from "node:crypto";
import { full, type FullSystem } from "../support/full-system.js";
import { Readable } from "node:stream";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAddress } from "../../src/systems/addresses.js";
import { readAll } from "../../src/systems/body.js";
import type { Entry } from "../../src/systems/contract.js";
import { SystemRegistry } from "../../src/systems/registry.js";
import { seededBytes, seededStream, SPECIAL_NAMES } from "../support/seed.js";

const MiB = 1 << 20;
const CONTAINER = `interop-${randomBytes(4).toString("hex")}`;
const registry = new SystemRegistry();
let stowage: FullSystem;
let raw: ContainerClient;

const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex");

async function rawRead(name: string): Promise<Buffer> {
  return raw.getBlobClient(name).downloadToBuffer();
}

async function collect(iterable: AsyncIterable<Entry>): Promise<Entry[]> {
  const entries: Entry[] = [];
  for await (const entry of iterable) entries.push(entry);
  return entries;
}

beforeAll(async () => {
  stowage = full(await registry.open(parseAddress(`az://${CONTAINER}`)));
  raw = BlobServiceClient.fromConnectionString(process.env.AZURE_STORAGE_CONNECTION_STRING!).getContainerClient(CONTAINER);
});

afterAll(async () => {
  await raw.deleteIfExists();
  await registry.closeAll();
});

describe("azure: the SDK reads what Stowage wrote", () => {
  it("creates the missing container on the first write, and the bytes are equal", async () => {
    expect(await raw.exists()).toBe(false);
    const content = seededBytes(100_000, 1);
    const result = await stowage.write(`/${CONTAINER}/bytes/one.bin`, content);
    expect(await raw.exists()).toBe(true);
    expect((await rawRead("bytes/one.bin")).equals(content)).toBe(true);
    // Put Blob's own Content-MD5 is passed on, and it is the content's.
    expect(result.md5).toBe(md5(content));
    const properties = await raw.getBlobClient("bytes/one.bin").getProperties();
    expect(result.etag).toBe(properties.etag!.replace(/"/g, ""));
  });

  it("a stream goes up as blocks and commits to the same bytes", async () => {
    const size = 20 * MiB + 123;
    const source = seededStream(size, 3);
    const result = await stowage.write(`/${CONTAINER}/stream/blocks.bin`, source.stream, { partSize: 4 * MiB, concurrency: 3 });
    expect(result.size).toBe(size);
    const blocks = await raw.getBlockBlobClient("stream/blocks.bin").getBlockList("committed");
    expect(blocks.committedBlocks?.length).toBe(6); // 5 × 4 MiB + the rest: really a block upload
    const back = await rawRead("stream/blocks.bin");
    expect(createHash("sha256").update(back).digest("hex")).toBe(source.sha256());
    // Azure keeps no whole-blob MD5 for a committed block list, so stat reports none (never a wrong one).
    expect((await stowage.stat(`/${CONTAINER}/stream/blocks.bin`)).md5).toBeUndefined();
  });

  it("a large byte body goes up as parallel blocks, still whole", async () => {
    const content = seededBytes(40 * MiB, 4);
    const result = await stowage.write(`/${CONTAINER}/bytes/large.bin`, content, { partSize: 8 * MiB });
    expect(result.md5).toBeUndefined(); // Put Block List's MD5 is the list's, not the blob's
    const blocks = await raw.getBlockBlobClient("bytes/large.bin").getBlockList("committed");
    expect(blocks.committedBlocks?.length).toBe(5);
    expect((await rawRead("bytes/large.bin")).equals(content)).toBe(true);
  });

  it("keeps names with spaces, unicode and #?%+ as the blob names", async () => {
    for (const name of [...SPECIAL_NAMES, "pre%20encoded.txt", "dir with space/x+y.txt"]) {
      await stowage.write(`/${CONTAINER}/special/${name}`, `content of ${name}`);
      expect((await rawRead(`special/${name}`)).toString()).toBe(`content of ${name}`);
    }
    const names: string[] = [];
    for await (const blob of raw.listBlobsFlat({ prefix: "special/" })) names.push(blob.name);
    expect(names.sort()).toEqual([...SPECIAL_NAMES, "pre%20encoded.txt", "dir with space/x+y.txt"].map((n) => `special/${n}`).sort());
  });

  it("writes an empty blob from an empty stream and from empty bytes", async () => {
    await stowage.write(`/${CONTAINER}/empty/stream.bin`, Readable.from([]));
    await stowage.write(`/${CONTAINER}/empty/bytes.bin`, new Uint8Array(0));
    expect((await raw.getBlobClient("empty/stream.bin").getProperties()).contentLength).toBe(0);
    expect((await raw.getBlobClient("empty/bytes.bin").getProperties()).contentLength).toBe(0);
  });

  it("sets the content type when asked", async () => {
    await stowage.write(`/${CONTAINER}/typed.json`, "{}", { contentType: "application/json" });
    expect((await raw.getBlobClient("typed.json").getProperties()).contentType).toBe("application/json");
  });
});

describe("azure: Stowage reads what the SDK wrote", () => {
  it("reads bytes, ranges, stat with MD5, for special names too", async () => {
    const content = seededBytes(300_000, 9);
    for (const name of ["sdk/plain.bin", ...SPECIAL_NAMES.map((n) => `sdk/${n}`)]) {
      await raw.getBlockBlobClient(name).uploadData(content);
      const path = `/${CONTAINER}/${name}`;
      expect((await readAll(await stowage.read(path))).equals(content)).toBe(true);
      expect((await readAll(await stowage.readRange(path, { offset: 1000, length: 10 }))).equals(content.subarray(1000, 1010))).toBe(true);
      expect((await readAll(await stowage.readRange(path, { suffix: 7 }))).equals(content.subarray(-7))).toBe(true);
      const stat = await stowage.stat(path);
      expect(stat).toMatchObject({ path, type: "file", size: content.length, md5: md5(content) });
      expect(stat.mtime).toBeInstanceOf(Date);
    }
  });

  it("lists SDK blobs one level and recursively, hiding folder placeholders", async () => {
    await raw.getBlockBlobClient("tree/a.txt").upload("a", 1);
    await raw.getBlockBlobClient("tree/sub/b.txt").upload("bb", 2);
    await raw.getBlockBlobClient("tree/sub/").upload("", 0); // a "folder" made by another tool
    await raw.getBlockBlobClient("tree/").upload("", 0);
    const oneLevel = await collect(stowage.list(`/${CONTAINER}/tree`));
    expect(oneLevel.map((e) => [e.path, e.type, e.size]).sort()).toEqual([
      [`/${CONTAINER}/tree/a.txt`, "file", 1],
      [`/${CONTAINER}/tree/sub`, "directory", 0],
    ]);
    const recursive = await collect(stowage.list(`/${CONTAINER}/tree`, { recursive: true, pageSize: 1 }));
    expect(recursive.map((e) => e.path).sort()).toEqual([`/${CONTAINER}/tree/a.txt`, `/${CONTAINER}/tree/sub/b.txt`]);
    expect((await stowage.stat(`/${CONTAINER}/tree/sub`)).type).toBe("directory");
  });

  it("lists containers at the root and stats a container as a directory", async () => {
    const root = await collect(stowage.list("/"));
    expect(root).toContainEqual(expect.objectContaining({ path: `/${CONTAINER}`, type: "directory" }));
    expect(await stowage.stat(`/${CONTAINER}`)).toMatchObject({ type: "directory", path: `/${CONTAINER}` });
    expect(await stowage.stat("/")).toMatchObject({ type: "directory", path: "/" });
    await expect(stowage.stat(`/no-such-container-${randomBytes(3).toString("hex")}`)).rejects.toMatchObject({ code: "NotFound" });
    expect(await collect(stowage.list(`/no-such-container-${randomBytes(3).toString("hex")}/x`))).toEqual([]);
  });

  it("deletes a tree with batches, including SDK-made blobs and placeholders", async () => {
    const names = Array.from({ length: 300 }, (_, i) => `bulk/f${i}.txt`);
    await Promise.all(names.map((n) => raw.getBlockBlobClient(n).upload("x", 1)));
    await raw.getBlockBlobClient("bulk/").upload("", 0);
    await raw.getBlockBlobClient("bulk-sibling.txt").upload("keep", 4);
    await stowage.delete([`/${CONTAINER}/bulk`], { recursive: true });
    const left: string[] = [];
    for await (const blob of raw.listBlobsFlat({ prefix: "bulk" })) left.push(blob.name);
    expect(left).toEqual(["bulk-sibling.txt"]);
  });
});
