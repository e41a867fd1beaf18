/**
 * Throughput of a 256 MiB stream written to and read back from Azurite, logged for the report,
 * not asserted (Azurite is a single Node process on the same cores). Content is checked.
 */
import { randomBytes } from "node:crypto";
import { full, type FullSystem } from "../support/full-system.js";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parseAddress } from "../../src/systems/addresses.js";
import type { WriteOptions } from "../../src/systems/contract.js";
import { SystemRegistry } from "../../src/systems/registry.js";
import { sha256Of, withPeakRss } from "../support/measure.js";
import { seededStream } from "../support/seed.js";

const MiB = 1 << 20;
const SIZE = 256 * MiB;
const CONTAINER = `throughput-${randomBytes(4).toString("hex")}`;
const registry = new SystemRegistry();
let stowage: FullSystem;

beforeAll(async () => {
  stowage = full(await registry.open(parseAddress(`az://${CONTAINER}`)));
});

afterAll(async () => {
  await BlobServiceClient.fromConnectionString(process.env.AZURE_STORAGE_CONNECTION_STRING!).getContainerClient(CONTAINER).deleteIfExists();
  await registry.closeAll();
});

const SETTINGS: Array<[string, WriteOptions]> = [
  ["defaults (8 MiB blocks, 5 buffers)", {}],
  ["16 MiB blocks, 8 buffers", { partSize: 16 * MiB, concurrency: 8 }],
];

it.each(SETTINGS)(
  "writes and reads 256 MiB as streams: %s",
  async (label, options) => {
    const path = `/${CONTAINER}/big-${randomBytes(3).toString("hex")}.bin`;
    const source = seededStream(SIZE, 31);
    let started = Date.now();
    const written = await withPeakRss(() => stowage.write(path, source.stream, options));
    const writeSeconds = (Date.now() - started) / 1000;
    started = Date.now();
    const read = await withPeakRss(async () => sha256Of(await stowage.read(path)));
    const readSeconds = (Date.now() - started) / 1000;
    expect(written.result.size).toBe(SIZE);
    expect(read.result).toEqual({ sha256: source.sha256(), size: SIZE });
    const rate = (seconds: number) => `${(SIZE / MiB / seconds).toFixed(0)} MiB/s`;
    console.log(
      `[azure] 256 MiB, ${label}: write ${writeSeconds.toFixed(2)} s (${rate(writeSeconds)}, rss +${(written.rssGrowth / MiB).toFixed(0)} MiB), ` +
        `read ${readSeconds.toFixed(2)} s (${rate(readSeconds)}, rss +${(read.rssGrowth / MiB).toFixed(0)} MiB)`,
    );
    await stowage.delete([path]);
  },
  600_000,
);
