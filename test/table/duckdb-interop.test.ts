/**
 * Interop both ways with DuckDB: what Stowage writes (every type, partitioned and not), DuckDB reads
 * with identical values; Parquet written by DuckDB (plain and Hive-partitioned), Stowage reads.
 */
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { table } from "../../src/index.js";
import { tempDir } from "../support/process.js";
import { everyTypeTable, rowsById } from "./data.js";

let connection: DuckDBConnection;
let dir: string;

beforeAll(async () => {
  connection = await (await DuckDBInstance.create(":memory:", { autoinstall_known_extensions: "false" })).connect();
  await connection.run("SET TimeZone = 'UTC'");
  dir = tempDir("table-duckdb");
});
afterAll(async () => {
  connection.closeSync();
  await rm(dir, { recursive: true, force: true });
});

async function scalar(sql: string): Promise<unknown> {
  const reader = await connection.runAndReadAll(sql);
  return reader.getRows()[0]![0];
}

describe("DuckDB interop", () => {
  for (const partitioned of [false, true]) {
    it(`DuckDB reads what Stowage wrote (${partitioned ? "Hive-partitioned" : "one directory"}) with identical values`, async () => {
      const data = everyTypeTable(2_500);
      const path = `${dir}/stowage-${partitioned}`;
      await table({ data, path, partitionCols: partitioned ? ["split"] : [] }).write({ rowGroupSize: 1_000 });
      const source = `read_parquet('${path}/**/*.parquet', hive_partitioning = ${partitioned})`;
      // DuckDB copies what it read into its own file; Stowage reads that back: every value must match.
      const roundTrip = `${dir}/duck-${partitioned}.parquet`;
      await connection.run(`COPY (SELECT * EXCLUDE (split), split FROM ${source} ORDER BY id) TO '${roundTrip}' (FORMAT parquet)`);
      const back = await table({ path: roundTrip }).fetch();
      expect(rowsById(back)).toEqual(rowsById(data));
      // And DuckDB's own view of a few aggregates, computed independently here.
      const types = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`);
      const typeOf = Object.fromEntries(types.getRows().map((r) => [r[0], r[1]]));
      expect(typeOf).toMatchObject({
        id: "BIGINT",
        i32: "INTEGER",
        f64: "DOUBLE",
        f32: "FLOAT",
        s: "VARCHAR",
        flag: "BOOLEAN",
        ts_utc: "TIMESTAMP WITH TIME ZONE",
        ts_local: "TIMESTAMP" /* DuckDB widens a millisecond timestamp to µs */,
        day: "DATE",
        price: "DECIMAL(10,2)",
        tags: "BIGINT[]",
        point: "STRUCT(a INTEGER, b VARCHAR)",
        split: "VARCHAR",
      });
      expect(await scalar(`SELECT count(*) FROM ${source} WHERE price IS NULL`)).toBe(BigInt(Math.ceil(2_500 / 8)));
      expect(await scalar(`SELECT sum(price)::VARCHAR FROM ${source}`)).toBe(expectedPriceSum(2_500));
      expect(await scalar(`SELECT epoch_us(max(ts_utc)) FROM ${source}`)).toBe(BigInt((1_700_000_000_000 + 2_499 * 1000) * 1000));
      expect(await scalar(`SELECT count(*) FROM ${source} WHERE split = 'test'`)).toBe(834n);
    });
  }

  it("Stowage reads Parquet that DuckDB wrote, plain and Hive-partitioned", async () => {
    const query = `SELECT i::BIGINT AS id, (i * 0.25)::DOUBLE AS x, ('v' || (i % 7))::VARCHAR AS s,
        make_timestamptz(2024, 1, 1, 0, 0, 0) + to_microseconds(i) AS ts, (i % 3)::INTEGER AS part,
        CASE WHEN i % 5 = 0 THEN NULL ELSE [i, i + 1] END AS l, {'a': i, 'b': 'q' || i} AS st, (i / 100)::DECIMAL(12, 3) AS d
      FROM range(5000) t(i)`;
    await connection.run(`COPY (${query}) TO '${dir}/duck-plain.parquet' (FORMAT parquet, ROW_GROUP_SIZE 1000)`);
    await connection.run(`COPY (${query}) TO '${dir}/duck-hive' (FORMAT parquet, PARTITION_BY (part))`);
    const plain = await table({ path: `${dir}/duck-plain.parquet` }).fetch({ format: "rows" });
    expect(plain.length).toBe(5_000);
    expect(plain[12]).toEqual({ id: 12n, x: 3, s: "v5", ts: new Date(Date.UTC(2024, 0, 1)), part: 0, l: [12n, 13n], st: { a: 12n, b: "q12" }, d: "0.120" });
    expect(plain[10]!.l).toBeNull();

    const hive = table({ path: `${dir}/duck-hive` });
    expect(await hive.count()).toBe(5_000);
    const part1 = await hive.fetch({ columns: ["id", "part"], filter: [["part", "=", 1]] });
    expect(part1.numRows).toBe(1_667);
    expect([...(part1.getChild("id")!.toArray() as BigInt64Array)].every((id) => id % 3n === 1n)).toBe(true);
    const schema = await hive.schema();
    expect(schema.fields.map((f) => f.name)).toEqual(["id", "x", "s", "ts", "l", "st", "d", "part"]);
  });

  it("fetch and stream hand results to DuckDB and write from a DuckDB result", async () => {
    const path = `${dir}/via-duck`;
    const result = await connection.run(
      "SELECT i::BIGINT AS id, (i * 2)::DOUBLE AS x, 'n' || i AS name, DATE '2024-01-01' + i::INTEGER AS day FROM range(3000) t(i)",
    );
    await table({ data: result, path }).write();
    const rows = await table({ path }).fetch({ format: "rows" });
    expect(rows[7]).toEqual({ id: 7n, x: 14, name: "n7", day: new Date(Date.UTC(2024, 0, 8)) });
    const reader = (await table({ path }).fetch({ format: "duckdb", columns: ["id", "x"] })) as { getRows(): unknown[][] };
    expect(reader.getRows().length).toBe(3_000);
    expect(reader.getRows()[5]).toEqual([5n, 10]);
  });
});

function expectedPriceSum(n: number): string {
  let cents = 0;
  for (let i = 0; i < n; i++) if (i % 8 !== 0) cents += i * 101 - 5000;
  const sign = cents < 0 ? "-" : "";
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}
