/**
 * Whole-table reads hand row groups to decoding worker threads (src/parquet/decode/threads.ts) as
 * well as decoding on this thread: the values must be the same whichever thread decoded a row
 * group, with nulls and every type the JavaScript decoder takes.
 */
import { rm } from "node:fs/promises";
import { Table } from "apache-arrow";
import { afterAll, expect, it } from "vitest";
import { table } from "../../src/index.js";
import { decodeThreads } from "../../src/parquet/decode/threads.js";
import { tempDir } from "../support/process.js";
import { everyTypeTable, mlTable, rowsById } from "./data.js";

const dir = tempDir("table-decode-threads");
afterAll(() => rm(dir, { recursive: true, force: true }));

async function readyThreads() {
  const threads = decodeThreads();
  expect(threads, "decoding threads are on by default").toBeDefined();
  threads!.start();
  for (const deadline = Date.now() + 20_000; !threads!.hasRoom;) {
    expect(Date.now(), "a decoding worker started").toBeLessThan(deadline);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return threads!;
}

it("reads the same values whether a row group was decoded by a worker or by this thread", { timeout: 120_000 }, async () => {
  // The flat columns of every type (a row group with a nested column goes to parquet-wasm whole).
  const flat = everyTypeTable(20_000).select(["id", "i32", "f64", "f32", "s", "flag", "ts_utc", "ts_local", "day", "split"]);
  for (const [name, data] of [
    ["every-type", flat],
    ["ml", mlTable(30_000)],
  ] as const) {
    const t = table({ data, path: `${dir}/${name}` });
    await t.write({ rowGroupSize: 1_000 });
    // Started (and ready) just before: idle workers end after a few seconds.
    const threads = await readyThreads();
    const before = threads.sent;
    const read = await t.fetch();
    expect(threads.sent - before, `${name}: row groups sent to workers`).toBeGreaterThan(0);
    expect(read.numRows).toBe(data.numRows);
    expect(read.schema.fields.map((f) => String(f.type))).toEqual(data.schema.fields.map((f) => String(f.type)));
    expect(rowsById(read)).toEqual(rowsById(data));
    // A projection goes the same way.
    const x = await t.fetch({ columns: ["id"] });
    expect(rowsById(x)).toEqual(rowsById((data as Table).select(["id"])));
  }
});
