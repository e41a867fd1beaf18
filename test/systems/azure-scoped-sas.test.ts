/**
 * The SAS Azure forwards to a host for one copy (issue 17), tried against Azurite with a system
 * built from nothing but the forwarded environment: it writes blobs in the destination container,
 * and nothing else (another container, reads, listings and deletes the copy did not need), and it
 * stops working when it expires. A SAS the caller was itself given is forwarded unscoped, saying so.
 */
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CredentialScope, ExportedCredentials, System } from "../../src/systems/contract.js";
import { parseAddress } from "../../src/systems/addresses.js";
import { readAll } from "../../src/systems/body.js";
import { loadConfig } from "../../src/systems/config.js";
import { connectAzure } from "../../src/systems/azure/credentials.js";
import { AzureSystem } from "../../src/systems/azure/system.js";
import { SystemRegistry } from "../../src/systems/registry.js";
import { expectCode } from "../../src/testing/index.js";
import { full, type FullSystem } from "../support/full-system.js";

const CONTAINER = `sas-${randomBytes(4).toString("hex")}`;
const OTHER = `sas-other-${randomBytes(4).toString("hex")}`;
const FRESH = `sas-fresh-${randomBytes(4).toString("hex")}`;
const registry = new SystemRegistry();
let caller: FullSystem;
let service: BlobServiceClient;

const scope = (path: string, more: Partial<CredentialScope> = {}): CredentialScope => ({
  path,
  access: "write",
  list: false,
  replace: true,
  delete: false,
  lifetimeMs: 10 * 60_000,
  ...more,
});

/** The system the host's runner would build: from the forwarded variables alone. */
async function onHost(exported: ExportedCredentials | undefined): Promise<FullSystem> {
  expect(exported).toBeDefined();
  const connection = await connectAzure(parseAddress(`az://${CONTAINER}`), loadConfig(), exported!.env);
  return full(new AzureSystem(connection));
}

/** What the blob holds, read with the caller's own credentials. */
const text = async (path: string) => (await readAll(await caller.read(path))).toString();
const listAll = async (system: System, path: string) => {
  for await (const entry of system.list(path, { recursive: true })) void entry;
};

beforeAll(async () => {
  caller = full(await registry.open(parseAddress(`az://${CONTAINER}`)));
  service = BlobServiceClient.fromConnectionString(process.env.AZURE_STORAGE_CONNECTION_STRING!);
  await service.getContainerClient(CONTAINER).create();
  await service.getContainerClient(OTHER).create();
  await caller.write(`/${CONTAINER}/kept/existing.txt`, "already here");
  await caller.write(`/${OTHER}/x.txt`, "other");
});

afterAll(async () => {
  for (const name of [CONTAINER, OTHER, FRESH]) await service.getContainerClient(name).deleteIfExists();
  await registry.closeAll();
});

describe("azure: the SAS forwarded for one copy", () => {
  it("writes the destination container (bytes and streams, new and replaced) and nothing else", async () => {
    const exported = await caller.exportCredentials(scope(`/${CONTAINER}/dest`));
    expect(exported).toMatchObject({ scoped: true });
    expect(exported!.expiresAt!.getTime()).toBeGreaterThan(Date.now());
    expect(exported!.expiresAt!.getTime()).toBeLessThanOrEqual(Date.now() + 10 * 60_000);
    expect(exported!.env.AZURE_STORAGE_CONNECTION_STRING).not.toContain("AccountKey");
    const host = await onHost(exported);

    await host.write(`/${CONTAINER}/dest/a.txt`, "one");
    await host.write(`/${CONTAINER}/dest/a.txt`, "two");
    await host.write(`/${CONTAINER}/dest/b.bin`, Readable.from([Buffer.from("streamed")]));
    expect(await text(`/${CONTAINER}/dest/a.txt`)).toBe("two");
    expect(await text(`/${CONTAINER}/dest/b.bin`)).toBe("streamed");

    await expectCode(host.write(`/${OTHER}/y.txt`, "no"), "PermissionDenied");
    await expectCode(host.read(`/${OTHER}/x.txt`), "PermissionDenied");
    // Within its container: no reads, listings or deletes the copy did not ask for.
    await expectCode(host.read(`/${CONTAINER}/kept/existing.txt`), "PermissionDenied");
    await expectCode(listAll(host, `/${CONTAINER}`), "PermissionDenied");
    await expectCode(host.delete([`/${CONTAINER}/kept/existing.txt`]), "PermissionDenied");
    expect(await text(`/${CONTAINER}/kept/existing.txt`)).toBe("already here");
  });

  it("lists and deletes only when the copy does; a source's SAS reads and lists but writes nothing", async () => {
    const lister = await onHost(await caller.exportCredentials(scope(`/${CONTAINER}/dest`, { list: true, delete: true })));
    await lister.write(`/${CONTAINER}/dest/gone.txt`, "bye");
    await listAll(lister, `/${CONTAINER}`);
    await lister.delete([`/${CONTAINER}/dest/gone.txt`]);
    await expectCode(lister.read(`/${CONTAINER}/kept/existing.txt`), "PermissionDenied");

    const reader = await onHost(await caller.exportCredentials(scope(`/${CONTAINER}/kept`, { access: "read", list: true, replace: false })));
    expect((await readAll(await reader.read(`/${CONTAINER}/kept/existing.txt`))).toString()).toBe("already here");
    await listAll(reader, `/${CONTAINER}/kept`);
    await expectCode(reader.write(`/${CONTAINER}/kept/new.txt`, "no"), "PermissionDenied");
  });

  it("creates a missing destination container first, since a SAS for one container cannot", async () => {
    const host = await onHost(await caller.exportCredentials(scope(`/${FRESH}/dest`)));
    await host.write(`/${FRESH}/dest/a.txt`, "made");
    expect(await text(`/${FRESH}/dest/a.txt`)).toBe("made");
  });

  it("stops working once it expires", async () => {
    const exported = await caller.exportCredentials(scope(`/${CONTAINER}/dest`, { lifetimeMs: 4_000 }));
    const host = await onHost(exported);
    await host.write(`/${CONTAINER}/dest/early.txt`, "in time");
    // SAS expiry has a resolution of seconds.
    await new Promise((resolve) => setTimeout(resolve, exported!.expiresAt!.getTime() - Date.now() + 1_500));
    await expectCode(host.write(`/${CONTAINER}/dest/late.txt`, "too late"), "PermissionDenied");
  });

  it("forwards a SAS the caller was given as it is, unscoped, with the reason", async () => {
    const host = await onHost(await caller.exportCredentials(scope(`/${CONTAINER}/dest`)));
    const again = await host.exportCredentials(scope(`/${CONTAINER}/dest/sub`));
    expect(again).toMatchObject({ scoped: false, reason: expect.stringMatching(/SAS/) });
  });
});
