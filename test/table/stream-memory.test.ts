/**
 * `stream` keeps memory bounded whatever the table's size: a table written from a generator (never
 * whole in memory) is streamed, plain and shuffled, while the test process's RSS is sampled. The
 * decoded table is several times larger than the RSS growth allowed.
 */
import { rm } from "node:fs/promises";
import { afterAll, expect, it } from "vitest";
import { table } from "../../src/index.js";
import { wasmPool } from "../../src/parquet/wasm-pool.js";
import { withPeakRss } from "../support/measure.js";
import { tempDir } from "../support/process.js";
import { mlTable } from "./data.js";

const ROWS = 3_000_000;
const CHUNK = 100_000;
/**
 * RSS growth allowed while streaming: a few row groups and batches, far below the table. It
 * includes garbage the main thread and the decoding worker have not collected yet, which under a
 * loaded CI run reached 42 MiB of a 2M-row table (24 MiB when quiet).
 */
const BOUND = 48 * 1024 * 1024;

const dir = tempDir("table-memory");
afterAll(() => rm(dir, { recursive: true, force: true }));

async function* generate() {
  for (let first = 0; first < ROWS; first += CHUNK) yield* mlTable(CHUNK, first, first + 1).batches;
}

it("streams a table several times larger than the memory bound, plain and shuffled", { timeout: 300_000 }, async () => {
  const t = table({ data: generate(), path: `${dir}/big` });
  await t.write();
  // End the write's workers now rather than mid-measurement (their memory going back would hide
  // growth), then start the stream's decoding worker and let its heap settle over a few row groups
  // (a one-time cost whatever the table's size), so what is measured is the streaming.
  await wasmPool().endIdle();
  let warm = 0;
  for await (const batch of t.stream({ batchSize: 10_000 })) if ((warm += batch.numRows) >= 3 * CHUNK) break;
  for (const options of [{ batchSize: 10_000 }, { batchSize: 10_000, shuffleSeed: 3, shuffleBufferSize: 50_000 }]) {
    global.gc?.();
    let decoded = 0;
    let rows = 0;
    const { rssGrowth } = await withPeakRss(async () => {
      for await (const batch of t.stream(options)) {
        rows += batch.numRows;
        decoded += batch.data.children.reduce((n, c) => n + c.byteLength, 0);
      }
    });
    console.log(`stream ${JSON.stringify(options)}: decoded ${(decoded / 2 ** 20).toFixed(0)} MiB, RSS growth ${(rssGrowth / 2 ** 20).toFixed(0)} MiB`);
    expect(rows).toBe(ROWS);
    expect(decoded).toBeGreaterThan(3 * BOUND);
    expect(rssGrowth).toBeLessThan(BOUND);
  }
});
