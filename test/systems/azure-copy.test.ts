/**
 * Server-side copy, checked with the raw SDK: the service made the copy (it carries a copy id and
 * status), names with URL-special characters survive, and both copy paths work: Copy Blob From URL
 * (synchronous, ≤ 256 MiB) and the asynchronous Copy Blob for larger sources.
 */
import { createHash, randomBytes } from "node:crypto";
import { full, type FullSystem } from "../support/full-system.js";
import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  BlobServiceClient,
  generateAccountSASQueryParameters,
  StorageSharedKeyCredential,
  type ContainerClient,
} from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAddress } from "../../src/systems/addresses.js";
import { isStowageError } from "../../src/errors.js";
import { readAll } from "../../src/systems/body.js";
import { SystemRegistry } from "../../src/systems/registry.js";
import { connectAzure } from "../../src/systems/azure/credentials.js";
import { AzureSystem } from "../../src/systems/azure/system.js";
import { seededBytes, seededStream, SPECIAL_NAMES } from "../support/seed.js";

const MiB = 1 << 20;
const CONTAINER = `copy-${randomBytes(4).toString("hex")}`;
const OTHER_CONTAINER = `copy-target-${randomBytes(4).toString("hex")}`;
const registry = new SystemRegistry();
let stowage: FullSystem;
let service: BlobServiceClient;
let raw: ContainerClient;

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  return isStowageError(error) ? error.code : `not a StowageError: ${String(error)}`;
}

beforeAll(async () => {
  stowage = full(await registry.open(parseAddress(`az://${CONTAINER}`)));
  service = BlobServiceClient.fromConnectionString(process.env.AZURE_STORAGE_CONNECTION_STRING!);
  raw = service.getContainerClient(CONTAINER);
  await raw.create();
});

afterAll(async () => {
  await raw.deleteIfExists();
  await service.getContainerClient(OTHER_CONTAINER).deleteIfExists();
  await registry.closeAll();
});

describe("azure: server-side copy", () => {
  it("copies between names with spaces, unicode and #?%+, made by the service", async () => {
    const names = [...SPECIAL_NAMES, "pre%20encoded.txt", "100% sure?.bin"];
    for (const [i, name] of names.entries()) {
      const content = seededBytes(50_000 + i, i + 1);
      await raw.getBlockBlobClient(`src/${name}`).uploadData(content);
      const target = names[(i + 1) % names.length]!;
      await stowage.copy(`/${CONTAINER}/src/${name}`, `/${CONTAINER}/dst/${target}`);
      const copied = raw.getBlobClient(`dst/${target}`);
      expect(sha256(await copied.downloadToBuffer())).toBe(sha256(content));
      const properties = await copied.getProperties();
      expect(properties.copyStatus).toBe("success");
      expect(properties.copyId).toBeTruthy();
    }
  });

  it("creates a missing target container", async () => {
    await raw.getBlockBlobClient("one.txt").upload("one", 3);
    await stowage.copy(`/${CONTAINER}/one.txt`, `/${OTHER_CONTAINER}/deep/one.txt`);
    expect((await service.getContainerClient(OTHER_CONTAINER).getBlobClient("deep/one.txt").downloadToBuffer()).toString()).toBe("one");
  });

  it("refuses to replace with overwrite:false, and reports missing sources and prefixes", async () => {
    await raw.getBlockBlobClient("keep/a.txt").upload("a", 1);
    await raw.getBlockBlobClient("keep/b.txt").upload("b", 1);
    const error = await stowage.copy(`/${CONTAINER}/keep/a.txt`, `/${CONTAINER}/keep/b.txt`, { overwrite: false }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "AlreadyExists", path: `/${CONTAINER}/keep/b.txt` });
    expect((await raw.getBlobClient("keep/b.txt").downloadToBuffer()).toString()).toBe("b");
    await stowage.copy(`/${CONTAINER}/keep/a.txt`, `/${CONTAINER}/keep/b.txt`);
    expect((await raw.getBlobClient("keep/b.txt").downloadToBuffer()).toString()).toBe("a");
    expect(await codeOf(stowage.copy(`/${CONTAINER}/keep/missing.txt`, `/${CONTAINER}/keep/c.txt`))).toBe("NotFound");
    expect(await codeOf(stowage.copy(`/${CONTAINER}/keep`, `/${CONTAINER}/keep2`))).toBe("IsADirectory");
  });

  it("copies a source over 256 MiB with the asynchronous Copy Blob", async () => {
    const size = 257 * MiB;
    const source = seededStream(size, 21);
    await raw.getBlockBlobClient("big/source.bin").uploadStream(source.stream, 8 * MiB, 4);
    const started = Date.now();
    await stowage.copy(`/${CONTAINER}/big/source.bin`, `/${CONTAINER}/big/copy.bin`);
    console.log(`[azure] server-side copy of 257 MiB (async Copy Blob): ${Date.now() - started} ms`);
    const copied = raw.getBlobClient("big/copy.bin");
    const download = await copied.download();
    const hash = createHash("sha256");
    for await (const chunk of download.readableStreamBody!) hash.update(chunk as Buffer);
    expect(hash.digest("hex")).toBe(source.sha256());
    expect((await copied.getProperties()).copyStatus).toBe("success");
    await raw.deleteBlob("big/source.bin");
    await raw.deleteBlob("big/copy.bin");
  }, 300_000);
});

describe("azure: a SAS token instead of the key", () => {
  it("writes, reads, lists and copies with AZURE_STORAGE_SAS_TOKEN", async () => {
    const credential = new StorageSharedKeyCredential(process.env.AZURE_STORAGE_ACCOUNT!, process.env.AZURE_STORAGE_KEY!);
    const sas = generateAccountSASQueryParameters(
      {
        expiresOn: new Date(Date.now() + 3600_000),
        permissions: AccountSASPermissions.parse("rwdlac"),
        resourceTypes: AccountSASResourceTypes.parse("sco").toString(),
        services: AccountSASServices.parse("b").toString(),
      },
      credential,
    ).toString();
    const env = { AZURE_STORAGE_ACCOUNT: "devstoreaccount1", AZURE_STORAGE_SAS_TOKEN: `?${sas}` };
    const connection = await connectAzure(parseAddress("az://x"), { azure: { endpoint: service.url } }, env);
    expect(connection.auth).toBe("sas");
    const system = new AzureSystem(connection);
    await system.write(`/${CONTAINER}/sas/a #1.txt`, "via sas");
    expect((await readAll(await system.read(`/${CONTAINER}/sas/a #1.txt`))).toString()).toBe("via sas");
    await system.copy(`/${CONTAINER}/sas/a #1.txt`, `/${CONTAINER}/sas/b %2.txt`);
    expect((await raw.getBlobClient("sas/b %2.txt").downloadToBuffer()).toString()).toBe("via sas");
    const listed: string[] = [];
    for await (const entry of system.list(`/${CONTAINER}/sas`)) listed.push(entry.path);
    expect(listed.sort()).toEqual([`/${CONTAINER}/sas/a #1.txt`, `/${CONTAINER}/sas/b %2.txt`]);
  });
});
