/**
 * Large objects against the emulator: a 200 MiB streamed write must work (one resumable request),
 * and the throughput of a 256 MiB write and read is measured and logged, not asserted.
 */
import { randomBytes } from "node:crypto";
import { full, type FullSystem } from "../support/full-system.js";
import { Storage } from "@google-cloud/storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAddress } from "../../src/systems/addresses.js";
import { SystemRegistry } from "../../src/systems/registry.js";
import { TEST_BUCKET } from "../conformance/fixtures/gs.js";
import { sha256Of, withPeakRss } from "../support/measure.js";
import { seededStream } from "../support/seed.js";

const MiB = 1 << 20;
const registry = new SystemRegistry();
const prefix = `throughput-${randomBytes(4).toString("hex")}`;
const root = `/${TEST_BUCKET}/${prefix}`;
let stowage: FullSystem;

beforeAll(async () => {
  stowage = full(await registry.open(parseAddress(`gs://${TEST_BUCKET}`)));
});

afterAll(async () => {
  await stowage.delete([root], { recursive: true });
  await registry.closeAll();
});

function rate(bytes: number, ms: number): string {
  return `${(((bytes / MiB) * 1000) / ms).toFixed(0)} MiB/s (${(ms / 1000).toFixed(1)} s)`;
}

describe("gs large objects", () => {
  it("writes 200 MiB from a stream in one resumable request; the SDK sees every byte", async () => {
    const size = 200 * MiB;
    const source = seededStream(size, 61);
    const written = await stowage.write(`${root}/200.bin`, source.stream);
    expect(written.size).toBe(size);
    const read = await sha256Of(new Storage().bucket(TEST_BUCKET).file(`${prefix}/200.bin`).createReadStream());
    expect(read).toEqual({ sha256: source.sha256(), size });
  }, 300_000);

  it("measures a 256 MiB streamed write and read", async () => {
    const size = 256 * MiB;
    const source = seededStream(size, 71);
    let started = Date.now();
    const write = await withPeakRss(() => stowage.write(`${root}/256.bin`, source.stream));
    const writeMs = Date.now() - started;
    started = Date.now();
    const read = await withPeakRss(async () => sha256Of(await stowage.read(`${root}/256.bin`)));
    const readMs = Date.now() - started;
    expect(write.result.size).toBe(size);
    expect(read.result).toEqual({ sha256: source.sha256(), size });
    console.log(
      `[gs] 256 MiB via emulator: write ${rate(size, writeMs)}, rss +${(write.rssGrowth / MiB).toFixed(0)} MiB; ` +
        `read ${rate(size, readMs)}, rss +${(read.rssGrowth / MiB).toFixed(0)} MiB`,
    );
  }, 300_000);
});
