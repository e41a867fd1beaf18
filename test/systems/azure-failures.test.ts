/**
 * What goes wrong, checked from outside with the raw SDK: interrupted and aborted writes leave no
 * blob (the staged blocks exist but stay uncommitted), `overwrite: false` is enforced by the
 * service on both upload paths, and refused credentials give PermissionDenied.
 */
import { randomBytes } from "node:crypto";
import { full, type FullSystem } from "../support/full-system.js";
import { Readable } from "node:stream";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAddress } from "../../src/systems/addresses.js";
import { isStowageError } from "../../src/errors.js";
import { readAll } from "../../src/systems/body.js";
import { SystemRegistry } from "../../src/systems/registry.js";
import { connectAzure } from "../../src/systems/azure/credentials.js";
import { AzureSystem } from "../../src/systems/azure/system.js";
import { abortingStream, seededBytes, seededStream } from "../support/seed.js";

const MiB = 1 << 20;
const CONTAINER = `failures-${randomBytes(4).toString("hex")}`;
const registry = new SystemRegistry();
let stowage: FullSystem;
let raw: ContainerClient;
let blobEndpoint: string;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isStowageError(error)) return `not a StowageError: ${String(error)}`;
  expect(error.system).toBe("azure");
  return error.code;
}

/**
 * Yields `bytes` bytes, then fails like a dropped source, but only once the service holds staged
 * blocks for `name`: the state a failure late in a long upload leaves.
 */
async function* failingBody(bytes: number, name: string): AsyncGenerator<Buffer> {
  for (let sent = 0; sent < bytes; sent += MiB) yield seededBytes(MiB, sent + 1);
  const deadline = Date.now() + 30_000;
  while ((await stagedBlocks(name)) === 0) {
    if (Date.now() > deadline) throw new Error(`no blocks were staged for ${name}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error("source failed mid-stream");
}

async function stagedBlocks(name: string): Promise<number> {
  const list = await raw
    .getBlockBlobClient(name)
    .getBlockList("uncommitted")
    .catch(() => undefined);
  return list?.uncommittedBlocks?.length ?? 0;
}

async function blobNames(options: { includeUncommitedBlobs?: boolean } = {}): Promise<string[]> {
  const names: string[] = [];
  for await (const blob of raw.listBlobsFlat(options)) names.push(blob.name);
  return names.sort();
}

async function rawText(name: string): Promise<string> {
  return (await raw.getBlobClient(name).downloadToBuffer()).toString();
}

beforeAll(async () => {
  stowage = full(await registry.open(parseAddress(`az://${CONTAINER}`)));
  const service = BlobServiceClient.fromConnectionString(process.env.AZURE_STORAGE_CONNECTION_STRING!);
  raw = service.getContainerClient(CONTAINER);
  await raw.create();
  blobEndpoint = service.url.replace(/\/$/, "");
});

afterAll(async () => {
  await raw.deleteIfExists();
  await registry.closeAll();
});

describe("azure: interrupted writes", () => {
  it("a body that fails mid-stream leaves no blob, though blocks were staged", async () => {
    const path = `/${CONTAINER}/broken/new.bin`;
    const error = await stowage.write(path, failingBody(12 * MiB, "broken/new.bin"), { partSize: 4 * MiB }).catch((e: unknown) => e);
    expect(isStowageError(error)).toBe(true);
    expect((error as Error).cause).toMatchObject({ message: "source failed mid-stream" });
    await expect(raw.getBlobClient("broken/new.bin").getProperties()).rejects.toMatchObject({ statusCode: 404 });
    expect(await blobNames()).toEqual([]);
    // The failure came after Put Block calls landed: the blocks are there, uncommitted and invisible.
    expect(await blobNames({ includeUncommitedBlobs: true })).toEqual(["broken/new.bin"]);
    expect(await codeOf(stowage.stat(path))).toBe("NotFound");
  });

  it("a failed replacement keeps the existing blob's content", async () => {
    await raw.getBlockBlobClient("broken/old.txt").upload("old content", 11);
    await expect(stowage.write(`/${CONTAINER}/broken/old.txt`, failingBody(12 * MiB, "broken/old.txt"), { partSize: 4 * MiB })).rejects.toThrow();
    expect(await rawText("broken/old.txt")).toBe("old content");
    expect(await stagedBlocks("broken/old.txt")).toBeGreaterThan(0);
  });

  it("an aborted stream write rejects with Aborted and leaves no blob", async () => {
    const { stream, signal, bytesRead } = abortingStream(64 * MiB, 10 * MiB);
    const started = Date.now();
    expect(await codeOf(stowage.write(`/${CONTAINER}/aborted/stream.bin`, stream, { signal, partSize: 4 * MiB }))).toBe("Aborted");
    expect(bytesRead()).toBeLessThan(64 * MiB); // the body stopped being read at the abort
    expect(Date.now() - started).toBeLessThan(30_000);
    await expect(raw.getBlobClient("aborted/stream.bin").getProperties()).rejects.toMatchObject({ statusCode: 404 });
  });

  it("an aborted replacement keeps the existing blob, and an already aborted signal sends nothing", async () => {
    await raw.getBlockBlobClient("aborted/old.txt").upload("keep me", 7);
    const controller = new AbortController();
    const { stream } = seededStream(64 * MiB);
    stream.once("data", () => controller.abort());
    expect(await codeOf(stowage.write(`/${CONTAINER}/aborted/old.txt`, stream, { signal: controller.signal }))).toBe("Aborted");
    expect(await rawText("aborted/old.txt")).toBe("keep me");
    expect(await codeOf(stowage.write(`/${CONTAINER}/aborted/never.txt`, "x", { signal: AbortSignal.abort() }))).toBe("Aborted");
    expect(await blobNames({ includeUncommitedBlobs: true })).not.toContain("aborted/never.txt");
  });

  it("an aborted read stream fails with Aborted", async () => {
    await stowage.write(`/${CONTAINER}/read/big.bin`, seededBytes(16 * MiB, 2));
    const controller = new AbortController();
    const stream = await stowage.read(`/${CONTAINER}/read/big.bin`, { signal: controller.signal });
    const error = await (async () => {
      for await (const chunk of stream) {
        void chunk;
        controller.abort();
      }
    })().catch((e: unknown) => e);
    expect(isStowageError(error) && error.code).toBe("Aborted");
  });
});

describe("azure: conditional writes", () => {
  it("overwrite:false is refused with AlreadyExists on every upload path, old content kept", async () => {
    await raw.getBlockBlobClient("cond/taken.bin").upload("original", 8);
    const path = `/${CONTAINER}/cond/taken.bin`;
    expect(await codeOf(stowage.write(path, "small", { overwrite: false }))).toBe("AlreadyExists"); // Put Blob
    expect(await codeOf(stowage.write(path, seededBytes(40 * MiB), { overwrite: false }))).toBe("AlreadyExists"); // Put Block List
    expect(await codeOf(stowage.write(path, Readable.from([Buffer.from("stream")]), { overwrite: false }))).toBe("AlreadyExists");
    expect(await rawText("cond/taken.bin")).toBe("original");
  });

  it("Put Block List itself refuses when another writer commits while the blocks go up", async () => {
    const name = "cond/late-rival.bin";
    // The body lets a rival create the blob only after Stowage has looked and found no blob,
    // so only the commit's If-None-Match can stop the overwrite.
    async function* body() {
      yield seededBytes(MiB, 1);
      await raw.getBlockBlobClient(name).upload("rival", 5);
      yield seededBytes(MiB, 2);
    }
    expect(await codeOf(stowage.write(`/${CONTAINER}/${name}`, body(), { overwrite: false, partSize: MiB }))).toBe("AlreadyExists");
    expect(await rawText(name)).toBe("rival");
  });

  it("two racing overwrite:false writes: exactly one wins", async () => {
    for (const body of [() => "racer", () => Readable.from([Buffer.from("racer")])]) {
      const name = `cond/race-${randomBytes(3).toString("hex")}.txt`;
      const results = await Promise.allSettled(Array.from({ length: 4 }, () => stowage.write(`/${CONTAINER}/${name}`, body(), { overwrite: false })));
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      const codes = results.flatMap((r) => (r.status === "rejected" ? [(r.reason as { code: string }).code] : []));
      expect(codes).toEqual(["AlreadyExists", "AlreadyExists", "AlreadyExists"]);
    }
  });
});

describe("azure: deleting", () => {
  it("a blob the service refuses to delete fails the call with Conflict, naming that blob", async () => {
    await Promise.all(["lease/a.txt", "lease/b.txt", "lease/c.txt"].map((name) => raw.getBlockBlobClient(name).upload("x", 1)));
    await raw.getBlobClient("lease/b.txt").getBlobLeaseClient().acquireLease(-1);
    const error = await stowage.delete([`/${CONTAINER}/lease`], { recursive: true }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "Conflict", operation: "delete", path: `/${CONTAINER}/lease/b.txt` });
    expect(await blobNames()).toContain("lease/b.txt");
    expect(await blobNames()).not.toContain("lease/a.txt");
    await raw.getBlobClient("lease/b.txt").getBlobLeaseClient().breakLease(0);
  });

  it("deleting in a missing container succeeds, recursive or not", async () => {
    await stowage.delete([`/no-such-container-${randomBytes(3).toString("hex")}/x`, `/${CONTAINER}/never/was`]);
    await stowage.delete([`/no-such-container-${randomBytes(3).toString("hex")}/dir`], { recursive: true });
  });

  it("refuses to delete the whole account", async () => {
    expect(await codeOf(stowage.delete(["/"], { recursive: true }))).toBe("InvalidInput");
  });
});

describe("azure: credentials", () => {
  const address = parseAddress("az://x");

  it("a wrong account key gives PermissionDenied on every operation", async () => {
    const badKey = randomBytes(64).toString("base64");
    const env = { AZURE_STORAGE_ACCOUNT: "devstoreaccount1", AZURE_STORAGE_KEY: badKey };
    const bad = new AzureSystem(await connectAzure(address, { azure: { endpoint: blobEndpoint } }, env));
    await raw.getBlockBlobClient("secret.txt").upload("secret", 6);
    const path = `/${CONTAINER}/secret.txt`;
    expect(await codeOf(bad.stat(path))).toBe("PermissionDenied");
    expect(await codeOf(bad.read(path))).toBe("PermissionDenied");
    expect(await codeOf(bad.write(`/${CONTAINER}/bad.txt`, "x"))).toBe("PermissionDenied");
    expect(await codeOf(bad.write(`/${CONTAINER}/bad.txt`, Readable.from([Buffer.from("x")])))).toBe("PermissionDenied");
    expect(await codeOf(bad.copy(path, `/${CONTAINER}/bad-copy.txt`))).toBe("PermissionDenied");
    expect(await codeOf(bad.delete([path]))).toBe("PermissionDenied");
    expect(
      await codeOf(
        (async () => {
          for await (const entry of bad.list(`/${CONTAINER}`)) void entry;
        })(),
      ),
    ).toBe("PermissionDenied");
    expect(await rawText("secret.txt")).toBe("secret");
  });

  it("a connection string with a wrong key gives PermissionDenied too", async () => {
    const good = process.env.AZURE_STORAGE_CONNECTION_STRING!;
    const env = { AZURE_STORAGE_CONNECTION_STRING: good.replace(/AccountKey=[^;]+/, `AccountKey=${randomBytes(64).toString("base64")}`) };
    const bad = new AzureSystem(await connectAzure(address, {}, env));
    expect(await codeOf(bad.stat(`/${CONTAINER}/anything`))).toBe("PermissionDenied");
  });

  it("account + key with a configured endpoint works end to end", async () => {
    const env = { AZURE_STORAGE_ACCOUNT: "devstoreaccount1", AZURE_STORAGE_KEY: process.env.AZURE_STORAGE_KEY! };
    const system = new AzureSystem(await connectAzure(address, { azure: { endpoint: blobEndpoint } }, env));
    await system.write(`/${CONTAINER}/by-key.txt`, "by key");
    expect((await readAll(await system.read(`/${CONTAINER}/by-key.txt`))).toString()).toBe("by key");
    await system.copy(`/${CONTAINER}/by-key.txt`, `/${CONTAINER}/by-key copy.txt`);
    expect(await rawText("by-key copy.txt")).toBe("by key");
  });
});
