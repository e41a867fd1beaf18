/**
 * The gather kernel (`take`) moves raw buffers: every type must come out exactly as picked, from
 * sliced chunks too, NaN payloads included. And the stream's order for a seed and a shard is part
 * of the contract (a training run is reproducible): pinned here by digest.
 */
import { createHash } from "node:crypto";
import { rm } from "node:fs/promises";
import { Float64, makeData, type RecordBatch, RecordBatch as Batch } from "apache-arrow";
import { afterAll, describe, expect, it } from "vitest";
import { table } from "../../src/index.js";
import { take } from "../../src/resources/table/take.js";
import { tempDir } from "../support/process.js";
import { everyTypeTable, mlTable, plain } from "./data.js";

const dir = tempDir("table-kernels");
afterAll(() => rm(dir, { recursive: true, force: true }));

function rowsOf(batch: RecordBatch): unknown[] {
  return batch.toArray().map((row) => plain(row));
}

describe("take", () => {
  it("gathers every type exactly, from sliced chunks, in any order", () => {
    const whole = everyTypeTable(600).batches[0]!;
    // Odd slice offsets: validity bits, values and offsets are all addressed from a non-zero start.
    const chunks = [whole.slice(3, 200), whole.slice(200, 201), whole.slice(201, 597)];
    let state = 12345;
    const next = () => (state = (state * 1103515245 + 12345) >>> 0);
    const chunkOf = new Uint32Array(1_000);
    const rowOf = new Uint32Array(1_000);
    const expected: unknown[] = [];
    const chunkRows = chunks.map(rowsOf);
    for (let i = 0; i < 1_000; i++) {
      chunkOf[i] = next() % chunks.length;
      rowOf[i] = next() % chunks[chunkOf[i]!]!.numRows;
      expected.push(chunkRows[chunkOf[i]!]![rowOf[i]!]);
    }
    const taken = new Batch(
      whole.schema,
      take(
        chunks.map((c) => c.data),
        { chunkOf, rowOf },
      ),
    );
    expect(rowsOf(taken)).toEqual(expected);
  });

  it("moves 64-bit values bit for bit (a NaN keeps its payload)", () => {
    const bits = new BigUint64Array([0x7ff4000000000001n, 0xfff8000000000abcn, 0x3ff0000000000000n]);
    const floats = makeData({ type: new Float64(), length: 3, nullCount: 0, data: new Float64Array(bits.buffer) });
    const taken = take([floats], { chunkOf: new Uint32Array(3), rowOf: Uint32Array.from([2, 0, 1]) });
    expect([...new BigUint64Array(taken.values.buffer)]).toEqual([bits[2], bits[0], bits[1]]);
  });
});

describe("stream order", () => {
  it("is the same for a seed and a shard as it has always been", async () => {
    const path = `${dir}/order`;
    await table({ data: mlTable(30_000), path }).write({ rowGroupSize: 5_000 });
    const cases = [
      { options: { batchSize: 1_000, shuffleSeed: 7, shuffleBufferSize: 10_000 }, rows: 30_000, digest: "41518c4cbbd4b2db" },
      { options: { batchSize: 700, shuffleSeed: 7, shuffleBufferSize: 10_000, shard: { index: 1, count: 3 } }, rows: 10_000, digest: "3a6b37195380eb2c" },
      { options: { batchSize: 700, shard: { index: 2, count: 3 } }, rows: 10_000, digest: "acaa5ec461121a5f" },
    ];
    for (const { options, rows, digest } of cases) {
      const hash = createHash("sha256");
      let seen = 0;
      for await (const batch of table({ path }).stream(options)) {
        for (const id of batch.getChild("id")!) hash.update(`${id},`);
        seen += batch.numRows;
      }
      expect({ rows: seen, digest: hash.digest("hex").slice(0, 16) }).toEqual({ rows, digest });
    }
  });
});
