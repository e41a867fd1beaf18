/**
 * The Table behaviour every writable system must show, run once per system through its fixture
 * (test/table/<system>-table.test.ts). Sizes are kept small: emulators are slow and CI has 2 cores.
 */
import { type RecordBatch, Table as ArrowTable } from "apache-arrow";
import { full, type FullSystem } from "../support/full-system.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { table } from "../../src/index.js";
import type { System } from "../../src/systems/contract.js";
import type { SystemFixture } from "../support/fixture.js";
import { countingSystem, everyTypeTable, mlTable, rowsById } from "./data.js";

async function collectIds(batches: AsyncIterable<RecordBatch>): Promise<{ ids: number[]; sizes: number[] }> {
  const ids: number[] = [];
  const sizes: number[] = [];
  for await (const batch of batches) {
    sizes.push(batch.numRows);
    for (const id of batch.getChild("id")!.toArray() as BigInt64Array) ids.push(Number(id));
  }
  return { ids, sizes };
}

export function defineTableSuite(fixture: SystemFixture): void {
  describe(`table on ${fixture.name}`, () => {
    let system: FullSystem;
    let root: string;
    const at = (name: string) => ({ system, path: `${root}/${name}` });

    beforeAll(async () => {
      system = full(await fixture.open());
      root = await fixture.writableRoot!();
    });
    afterAll(async () => {
      await fixture.dispose?.();
    });

    it("writes every type and reads back identical values, partitioned and not", async () => {
      const data = everyTypeTable(3_000);
      for (const partitionCols of [[], ["split"]]) {
        const t = table({ data, path: at(`types-${partitionCols.length}`), partitionCols, metadata: { source: "wiki", n: 1 } });
        await t.write({ rowGroupSize: 1_000 });
        const back = await t.fetch();
        expect(back.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(data.schema.fields.map((f) => `${f.name}:${f.type}`));
        expect(rowsById(back)).toEqual(rowsById(data));
        expect(await t.metadata()).toEqual({ source: "wiki", n: 1 });
        expect((await t.schema()).metadata.get("source")).toBe("wiki");
      }
    });

    it("lays out Hive partitions with a manifest and part files", async () => {
      const t = table({ data: mlTable(2_000), path: at("layout"), partitionCols: ["split"] });
      await t.write();
      const names: string[] = [];
      for await (const e of system.list(`${root}/layout`, { recursive: true })) names.push(e.path.slice(root.length + "/layout/".length));
      expect(
        names
          .filter((n) => n.endsWith(".parquet"))
          .map((n) => n.split("/")[0])
          .sort(),
      ).toEqual(["split=test", "split=train"]);
      expect(names).toContain("_stowage_table.json");
    });

    it("fetches selected columns with filters on partition and data columns", async () => {
      const data = mlTable(20_000);
      const t = table({ data, path: at("filtered"), partitionCols: ["split"] });
      await t.write({ rowGroupSize: 2_500 });
      const some = await t.fetch({
        columns: ["id", "x"],
        filter: [
          ["split", "=", "train"],
          ["x", ">", 0.5],
        ],
      });
      expect(some.schema.fields.map((f) => f.name)).toEqual(["id", "x"]);
      const xs = data.getChild("x")!.toArray() as Float64Array;
      const expected = [...xs.keys()].filter((i) => i % 10 < 8 && xs[i]! > 0.5);
      expect((some.getChild("id")!.toArray() as BigInt64Array).map((v) => v).length).toBe(expected.length);
      expect([...(some.getChild("id")!.toArray() as BigInt64Array)].map(Number).sort((a, b) => a - b)).toEqual(expected);
      // OR of ANDs, `in`, and a timestamp compared with a Date.
      const either = await t.fetch({
        columns: ["id"],
        filter: [
          [["id", "<", 5n]],
          [
            ["id", "in", [19_999n, 7]],
            ["ts", ">=", new Date(0)],
          ],
        ],
      });
      expect([...(either.getChild("id")!.toArray() as BigInt64Array)].map(Number).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 7, 19_999]);
      expect(await t.count({ filter: [["split", "=", "test"]] })).toBe(4_000);
    });

    it("count, schema and head read footers (and the manifest) only", async () => {
      const counted = countingSystem(system);
      const t = table({ data: mlTable(40_000), path: { system: counted.system, path: `${root}/footers` } });
      await t.write({ rowGroupSize: 10_000 });
      counted.reset();
      expect(await t.count()).toBe(40_000);
      const schema = await t.schema();
      expect(schema.fields.map((f) => f.name)).toEqual(["id", "x", "y", "cat", "text", "ts", "split"]);
      const footerBytes = counted.bytes();
      const head = await t.head(5);
      expect([...(head.getChild("id")!.toArray() as BigInt64Array)].map(Number)).toEqual([0, 1, 2, 3, 4]);
      const size = (await system.stat(`${root}/footers`)).type === "directory" ? await totalParquetBytes(system, `${root}/footers`) : 0;
      expect(footerBytes).toBeLessThan(size * 0.1);
    });

    it("a remote one-column read fetches only that column's chunks (bytes counted)", async () => {
      const counted = countingSystem(system);
      const t = table({ data: mlTable(100_000), path: { system: counted.system, path: `${root}/projection` } });
      await t.write({ rowGroupSize: 25_000 });
      const size = await totalParquetBytes(system, `${root}/projection`);
      counted.reset();
      const x = await t.fetch({ columns: ["y"] });
      expect(x.numRows).toBe(100_000);
      expect(counted.bytes()).toBeGreaterThan(0);
      expect(counted.bytes() / size).toBeLessThan(0.25);
      // Statistics prune: ids are sorted, so one row group of four can match.
      counted.reset();
      const tail = await t.fetch({ columns: ["id", "text"], filter: [["id", ">=", 99_990n]] });
      expect(tail.numRows).toBe(10);
      expect(counted.bytes() / size).toBeLessThan(0.3);
    });

    it("appends files without rewriting, and overwrite replaces", async () => {
      const t = table({ data: mlTable(1_000), path: at("append"), partitionCols: ["split"] });
      await t.write();
      const before = await listParquet(system, `${root}/append`);
      await table({ data: mlTable(500, 1_000), path: at("append") }).write({ mode: "append" });
      const after = await listParquet(system, `${root}/append`);
      expect(after.filter((p) => before.includes(p))).toEqual(before);
      expect(await t.count()).toBe(1_500);
      await table({ data: mlTable(10, 0), path: at("append") }).write();
      expect(await t.count()).toBe(10);
      expect((await listParquet(system, `${root}/append`)).some((p) => before.includes(p))).toBe(false);
      await expect(table({ data: everyTypeTable(5), path: at("append") }).write({ mode: "append" })).rejects.toMatchObject({ code: "InvalidInput" });
    });

    it("a failed write (bad input, a source that throws midway) leaves the previous table intact", async () => {
      const t = table({ data: mlTable(1_000), path: at("failed") });
      await t.write({ rowGroupSize: 100 });
      const files = await listParquet(system, `${root}/failed`);
      const broke = new Error("source broke");
      async function* throwing() {
        for (const batch of mlTable(5_000, 0, 9).batches) yield batch.slice(0, 2_000);
        throw broke;
      }
      // The write fails with the source's own error (or a StowageError carrying it as its cause).
      const failed = await table({ data: throwing(), path: at("failed") })
        .write({ maxRowsPerFile: 500 })
        .catch((e: unknown) => e);
      expect(failed === broke || (failed as { cause?: unknown }).cause === broke).toBe(true);
      await expect(table({ data: [{ a: 1 }, { a: "x" }], path: at("failed") }).write()).rejects.toMatchObject({ code: "InvalidInput" });
      expect(await t.count()).toBe(1_000);
      expect(await listParquet(system, `${root}/failed`)).toEqual(files);
      expect(rowsById(await t.fetch({ columns: ["id"] })).length).toBe(1_000);
    });

    it("readers see the old or the new table during a replace, never a mix", async () => {
      const path = at("replace");
      const versions = [0, 1, 2, 3].map((v) => mlTable(3_000, v * 100_000));
      await table({ data: versions[0]!, path }).write({ rowGroupSize: 500, maxRowsPerFile: 1_000 });
      let writing = true;
      const seen = new Set<number>();
      const reader = (async () => {
        while (writing) {
          const ids = [...((await table({ path }).fetch({ columns: ["id"] })).getChild("id")!.toArray() as BigInt64Array)].map(Number);
          const version = Math.floor(ids[0]! / 100_000);
          expect(ids.length).toBe(3_000);
          expect(ids.every((id) => Math.floor(id / 100_000) === version)).toBe(true);
          seen.add(version);
        }
      })();
      for (const data of versions.slice(1)) await table({ data, path }).write({ rowGroupSize: 500, maxRowsPerFile: 1_000 });
      writing = false;
      await reader;
      expect(seen.size).toBeGreaterThanOrEqual(1);
    });

    it("a stream running across a replace fails with Conflict after old rows only, never mixing in new ones", async () => {
      // Files well over the 64 KiB tail a reader keeps from opening them, so later row groups are read after the replace.
      const path = at("stream-replace");
      const layout = { rowGroupSize: 5_000, maxRowsPerFile: 10_000 };
      await table({ data: mlTable(30_000), path }).write(layout);
      const ids: number[] = [];
      const stream = table({ path }).stream({ batchSize: 5_000, columns: ["id"], prefetch: 0 });
      const reading = (async () => {
        for await (const batch of stream) {
          ids.push(...[...(batch.getChild("id")!.toArray() as BigInt64Array)].map(Number));
          if (ids.length === 5_000) await table({ data: mlTable(30_000, 100_000), path }).write(layout);
        }
      })();
      await expect(reading).rejects.toMatchObject({ code: "Conflict" });
      expect(ids.length).toBeGreaterThanOrEqual(5_000);
      expect(ids.length).toBeLessThan(30_000);
      expect(ids.every((id) => id < 100_000)).toBe(true);
      // A new stream reads the new version whole.
      const fresh = await collectIds(table({ path }).stream({ batchSize: 10_000, columns: ["id"] }));
      expect(fresh.ids.length).toBe(30_000);
      expect(fresh.ids.every((id) => id >= 100_000)).toBe(true);
    });

    it("concurrent writers: an append that overlaps an overwrite and another append lands on top of both, with every file kept", async () => {
      const path = at("concurrent");
      await table({ data: mlTable(100, 0), path }).write();
      const initial = await listParquet(system, `${root}/concurrent`);
      // A slow append: three files of 100 rows are written, then it waits before committing.
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      async function* slow() {
        for (const batch of mlTable(300, 1_000).batches) for (let at = 0; at < batch.numRows; at += 100) yield batch.slice(at, at + 100);
        await gate;
      }
      const appending = table({ data: slow(), path }).write({ mode: "append", maxRowsPerFile: 100 });
      const deadline = Date.now() + 20_000;
      let pending: string[] = [];
      while (pending.length < 2 && Date.now() < deadline) {
        pending = (await listParquet(system, `${root}/concurrent`)).filter((p) => !initial.includes(p));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(pending.length).toBeGreaterThanOrEqual(2);
      // Meanwhile an overwrite and another append commit.
      await table({ data: mlTable(50, 10_000), path }).write();
      await table({ data: mlTable(30, 20_000), path }).write({ mode: "append" });
      // The overwrite removed the table it replaced, not the running append's files.
      for (const file of pending) expect(await listParquet(system, `${root}/concurrent`)).toContain(file);
      release();
      await appending;
      const ids = rowsById(await table({ path }).fetch({ columns: ["id"] })).map((row) => Number(row.id));
      const expected = [...range(10_000, 50), ...range(20_000, 30), ...range(1_000, 300)].sort((a, b) => a - b);
      expect(ids.sort((a, b) => a - b)).toEqual(expected);
    });

    it("an overwrite removes the files of writers that crashed a day ago, not those of recent ones", async () => {
      const path = at("orphans");
      await table({ data: mlTable(20, 0), path }).write();
      const [file] = await listParquet(system, `${root}/orphans`);
      const bytes = await system.read(file!);
      const stamp = (time: Date) => time.toISOString().replace(/[-:.]/g, "").slice(0, 18);
      const crashed = `${root}/orphans/part-${stamp(new Date(Date.now() - 2 * 86_400_000))}-0badc0de-00000.parquet`;
      const running = `${root}/orphans/part-${stamp(new Date())}-0badc0de-00000.parquet`;
      await system.write(crashed, bytes);
      await system.write(running, await system.read(file!));
      await table({ data: mlTable(10, 100), path }).write();
      const left = await listParquet(system, `${root}/orphans`);
      expect(left).not.toContain(crashed);
      expect(left).not.toContain(file);
      expect(left).toContain(running);
      expect(await table({ path }).count()).toBe(10);
    });

    it("streams with a seeded shuffle, disjoint complete shards, dropLast and a resume token", async () => {
      const t = table({ data: mlTable(12_000), path: at("stream"), partitionCols: ["split"] });
      await t.write({ rowGroupSize: 1_000 });
      const plainRun = await collectIds(t.stream({ batchSize: 1_000, columns: ["id"] }));
      expect(plainRun.sizes.every((s) => s === 1_000)).toBe(true);
      expect([...plainRun.ids].sort((a, b) => a - b)).toEqual(Array.from({ length: 12_000 }, (_, i) => i));

      const options = { batchSize: 512, shuffleSeed: 42, shuffleBufferSize: 3_000, columns: ["id", "x"] };
      const a = await collectIds(t.stream(options));
      const b = await collectIds(t.stream(options));
      const c = await collectIds(t.stream({ ...options, shuffleSeed: 7 }));
      expect(a.ids).toEqual(b.ids);
      expect(a.ids).not.toEqual(c.ids);
      expect(a.ids).not.toEqual([...a.ids].sort((x, y) => x - y));
      expect(new Set(a.ids).size).toBe(12_000);
      expect(a.sizes.slice(0, -1).every((s) => s === 512)).toBe(true);

      const shards = await Promise.all([0, 1, 2, 3].map((index) => collectIds(t.stream({ ...options, shard: { index, count: 4 } }))));
      const all = shards.flatMap((s) => s.ids);
      expect(all.length).toBe(12_000);
      expect(new Set(all).size).toBe(12_000);
      for (const s of shards) expect(s.ids.length).toBe(3_000);
      const dropped = await collectIds(t.stream({ ...options, shard: { index: 1, count: 4 }, dropLast: true }));
      expect(dropped.sizes.every((s) => s === 512)).toBe(true);
      expect(dropped.ids).toEqual(shards[1]!.ids.slice(0, dropped.ids.length));

      // Interrupt after 7 batches, resume from the token: the rest comes exactly as in the full run.
      const first = t.stream(options);
      const got: number[] = [];
      let n = 0;
      for await (const batch of first) {
        got.push(...[...(batch.getChild("id")!.toArray() as BigInt64Array)].map(Number));
        if (++n === 7) break;
      }
      const rest = await collectIds(t.stream({ ...options, resumeFrom: first.position! }));
      expect([...got, ...rest.ids]).toEqual(a.ids);
      await expect(collectIds(t.stream({ ...options, shuffleSeed: 5, resumeFrom: first.position! }))).rejects.toMatchObject({ code: "InvalidInput" });
    });

    it("rejects bad input by code: unknown partition column, unknown filter column, not a table, missing table", async () => {
      await expect(table({ data: mlTable(10), path: at("bad1"), partitionCols: ["nope"] }).write()).rejects.toMatchObject({
        code: "InvalidInput",
        message: expect.stringContaining("nope"),
      });
      const t = table({ data: mlTable(100), path: at("bad2") });
      await t.write();
      await expect(t.fetch({ filter: [["nope", "=", 1]] })).rejects.toMatchObject({ code: "InvalidInput", message: expect.stringContaining("nope") });
      await expect(t.fetch({ columns: ["id", "missing"] })).rejects.toMatchObject({ code: "InvalidInput" });
      await system.write(`${root}/notatable/readme.txt`, "hello");
      await expect(table({ path: at("notatable") }).fetch()).rejects.toMatchObject({ code: "InvalidInput" });
      await system.write(`${root}/fake.parquet`, "this is not parquet at all");
      await expect(table({ path: at("fake.parquet") }).count()).rejects.toMatchObject({ code: "InvalidInput" });
      await expect(table({ path: at("missing") }).fetch()).rejects.toMatchObject({ code: "NotFound" });
      expect(await table({ path: at("missing") }).exists()).toBe(false);
    });

    it("copies a table with to(), and rm() removes it", async () => {
      const t = table({ data: mlTable(2_000), path: at("source"), partitionCols: ["split"], metadata: { k: "v" } });
      await t.write();
      const copy = await t.to(at("copy"));
      expect(await copy.count()).toBe(2_000);
      expect(await copy.metadata()).toEqual({ k: "v" });
      expect(rowsById(await copy.fetch())).toEqual(rowsById(await t.fetch()));
      await t.rm();
      expect(await t.exists()).toBe(false);
      expect(await copy.exists()).toBe(true);
    });

    it("writes from rows and from an async iterable of batches", async () => {
      const rows = Array.from({ length: 300 }, (_, i) => ({
        id: BigInt(i),
        name: `n${i}`,
        score: i / 2,
        ok: i % 2 === 0,
        at: new Date(Date.UTC(2024, 0, 1) + i),
        tags: [i, i + 1],
        meta: { k: i },
      }));
      const t = table({ data: rows, path: at("rows") });
      await t.write();
      const back = await t.fetch({ format: "rows" });
      expect(back[5]).toEqual({ id: 5n, name: "n5", score: 2.5, ok: false, at: new Date(Date.UTC(2024, 0, 1) + 5), tags: [5, 6], meta: { k: 5 } });
      async function* batches() {
        for (let i = 0; i < 4; i++) yield* mlTable(1_000, i * 1_000).batches;
      }
      const big = table({ data: batches(), path: at("batches") });
      await big.write();
      expect(await big.count()).toBe(4_000);
      expect((await big.fetch({ columns: ["id"] })) instanceof ArrowTable).toBe(true);
    });
  });
}

function range(first: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => first + i);
}

async function listParquet(system: System, path: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of system.list(path, { recursive: true })) if (e.path.endsWith(".parquet")) out.push(e.path);
  return out.sort();
}

async function totalParquetBytes(system: System, path: string): Promise<number> {
  let total = 0;
  for await (const e of system.list(path, { recursive: true })) if (e.path.endsWith(".parquet")) total += e.size;
  return total;
}
