/** Polars in and out, row input typing, and the take kernel on sliced and nested data. */
import { rm } from "node:fs/promises";
import pl from "nodejs-polars";
import { Field, Int32, List, makeBuilder, makeVector, Struct, Utf8 } from "apache-arrow";
import { afterAll, describe, expect, it } from "vitest";
import { table } from "../../src/index.js";
import { picksOf, take } from "../../src/resources/table/take.js";
import { tempDir } from "../support/process.js";
import { mlTable, rowsById } from "./data.js";

const dir = tempDir("table-adapters");
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("adapters", () => {
  it("writes a Polars DataFrame and fetches and streams Polars DataFrames", async () => {
    const df = pl.DataFrame({ id: [1, 2, 3, 4], name: ["a", "b", "c", "d"], score: [0.5, 1.5, 2.5, 3.5] });
    const t = table({ data: df, path: `${dir}/polars` });
    await t.write();
    expect(await t.count()).toBe(4);
    const back = (await t.fetch({ format: "polars", filter: [["score", ">", 1]] })) as pl.DataFrame;
    expect(back.height).toBe(3);
    expect(back.getColumn("name").toArray()).toEqual(["b", "c", "d"]);
    const batches: pl.DataFrame[] = [];
    for await (const frame of t.stream({ format: "polars", batchSize: 2 })) batches.push(frame as pl.DataFrame);
    expect(batches.map((b) => b.height)).toEqual([2, 2]);
  });

  it("rejects rows whose values disagree with their column, naming it", async () => {
    const bad = [
      { a: 1, b: "x" },
      { a: 2, b: 3 },
    ];
    await expect(table({ data: bad, path: `${dir}/bad` }).write()).rejects.toMatchObject({ code: "InvalidInput", message: expect.stringContaining('"b"') });
    async function* late() {
      for (let i = 0; i < 70_000; i++) yield { a: i };
      yield { a: "late string" };
    }
    await expect(table({ data: late(), path: `${dir}/late` }).write()).rejects.toMatchObject({
      code: "InvalidInput",
      message: expect.stringContaining("row 70000"),
    });
    expect(await table({ path: `${dir}/late` }).exists()).toBe(false);
    await expect(table({ data: 42 as never, path: `${dir}/num` }).write()).rejects.toMatchObject({ code: "InvalidInput" });
  });

  it("take gathers rows of sliced strings, lists and structs", () => {
    const type = new Struct([new Field("s", new Utf8(), true), new Field("l", new List(new Field("item", new Int32(), true)), true)]);
    const builder = makeBuilder({ type, nullValues: [null, undefined] });
    for (let i = 0; i < 20; i++) builder.append((i % 5 === 0 ? null : { s: `v${i}`, l: Array.from({ length: i % 3 }, (_, k) => i + k) }) as never);
    const data = builder.finish().flush().slice(3, 12);
    const picked = take([data], picksOf([8, 0, 2, 2]));
    const rows = [8, 0, 2, 2].map((i) => i + 3).map((i) => (i % 5 === 0 ? null : { s: `v${i}`, l: Array.from({ length: i % 3 }, (_, k) => i + k) }));
    const got = [...makeVector(picked)].map((r) => (r === null ? null : { s: r.s, l: [...r.l] }));
    expect(got).toEqual(rows);
  });

  it("round-trips through partitioned stream order-insensitively (rows format)", async () => {
    const t = table({ data: mlTable(3_000), path: `${dir}/rows`, partitionCols: ["split", "cat"] });
    await t.write();
    const rows: Record<string, unknown>[] = [];
    for await (const batch of t.stream({ format: "rows", batchSize: 700 })) rows.push(...(batch as Record<string, unknown>[]));
    expect(rows.length).toBe(3_000);
    expect(rowsById(await t.fetch()).map((r) => r.text)).toEqual(rows.sort((a, b) => Number(a.id) - Number(b.id)).map((r) => r.text));
  });
});
