/**
 * The JavaScript page decoder (src/parquet/decode/) against parquet-wasm: the same row
 * groups of the same files, decoded by both, must give identical values, nulls and types. Files
 * come from Stowage's writer, from parquet-wasm with each encoding, codec and page version forced,
 * and from DuckDB. Columns the decoder does not take (nested, decimals, snappy) are checked to be
 * refused, so a fallback cannot pass for a decode.
 */
import { DuckDBInstance } from "@duckdb/node-api";
import {
  Bool,
  Field,
  Float32,
  Float64,
  Int8,
  Int16,
  Int32,
  Int64,
  type RecordBatch,
  RecordBatchReader,
  Table,
  tableToIPC,
  Uint32,
  Utf8,
  Vector,
} from "apache-arrow";
import { readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { table } from "../../src/index.js";
import { decodeRowGroup, planRowGroup } from "../../src/parquet/decode/row-group.js";
import { type Footer, readFooter } from "../../src/parquet/footer.js";
import { systemRangeSource } from "../../src/resources/table/range-source.js";
import { createFileSystem } from "../../src/systems/file/system.js";
import { tempDir } from "../support/process.js";
import { batchOf, column, everyTypeTable, mlTable, rowsById } from "./data.js";

const pw = createRequire(import.meta.url)("parquet-wasm/node") as typeof import("parquet-wasm");
let dir: string;

beforeAll(() => {
  dir = tempDir("table-js-decoder");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let written = 0;

/** The file's footer as a read sees it: the bytes go to disk and are read back through the file system. */
async function footerOf(file: Uint8Array): Promise<Footer> {
  const path = `${dir}/footer-${written++}.parquet`;
  await writeFile(path, file);
  return readFooter(systemRangeSource(createFileSystem(), path, file.length));
}

/** Every row group of `file` decoded both ways; returns the columns the JavaScript decoder took. */
async function compareDecoders(file: Uint8Array, expectTaken: readonly string[]): Promise<string[]> {
  const footer = await footerOf(file);
  const parquet = await pw.ParquetFile.fromFile(new Blob([file]));
  const taken = new Set<string>();
  const groups = footer.metadata.row_groups.length;
  expect(groups).toBeGreaterThan(0);
  for (let group = 0; group < groups; group++) {
    const expected: RecordBatch[] = [];
    for await (const batch of await parquet.stream({ rowGroups: [group], batchSize: 1 << 30 }))
      expected.push(...RecordBatchReader.from(batch.intoIPCStream()).readAll());
    const reference = new Table(expected);
    for (const field of reference.schema.fields) {
      const plan = await planRowGroup(footer, group, [{ name: field.name, type: field.type }]);
      if (!plan) {
        expect(expectTaken, `${field.name} (${String(field.type)}) was refused`).not.toContain(field.name);
        continue;
      }
      taken.add(field.name);
      const decoded = await decodeRowGroup(plan, (span) => file.subarray(span.start, span.end));
      const data = decoded.get(field.name)!;
      expect(String(data.type)).toBe(String(field.type));
      expectSameValues(new Vector([data]), reference.getChild(field.name)!, field.name);
    }
  }
  for (const name of expectTaken) expect(taken, `${name} decoded in JavaScript`).toContain(name);
  return [...taken];
}

function expectSameValues(actual: Vector, expected: Vector, name: string): void {
  expect(actual.length, name).toBe(expected.length);
  expect(actual.nullCount, name).toBe(expected.nullCount);
  const values = (v: Vector) => Array.from({ length: v.length }, (_, i) => v.get(i));
  expect(values(actual), name).toEqual(values(expected));
}

/** Seeded values that stress the encodings: full-range and negative integers, runs, nulls, empty and long strings. */
function edgeTable(n: number, nulls: boolean): Table {
  let state = 12345;
  const rand = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 4294967296;
  };
  const maybe = <T>(i: number, value: T) => (nulls && i % 7 === 3 ? null : value);
  const ids = Array.from({ length: n }, (_, i) => i);
  const fields = [
    new Field("i64", new Int64(), nulls),
    new Field("i64_wide", new Int64(), nulls),
    new Field("i32", new Int32(), nulls),
    new Field("i32_wide", new Int32(), nulls),
    new Field("i16", new Int16(), nulls),
    new Field("i8", new Int8(), nulls),
    new Field("u32", new Uint32(), nulls),
    new Field("f64", new Float64(), nulls),
    new Field("f32", new Float32(), nulls),
    new Field("s", new Utf8(), nulls),
    new Field("low_card", new Utf8(), nulls),
    new Field("categories", new Utf8(), nulls),
    new Field("flag", new Bool(), nulls),
  ];
  // Dictionary values of every packed width (1 to 16 bytes, multibyte among them) and one too long to pack.
  const categories = ["", "a", "éé", "abcde", "12345678", "nine-byte", "ü€😀x", "sixteen-bytes-ok", "seventeen-bytes!!"];
  const columns = [
    column(
      new Int64(),
      ids.map((i) => maybe(i, BigInt(i * 1000 - 7))),
    ),
    column(
      new Int64(),
      ids.map((i) => maybe(i, i % 5 === 0 ? (i % 2 ? 9223372036854775807n : -9223372036854775808n) : BigInt(Math.floor((rand() - 0.5) * 2 ** 53)) * 997n)),
    ),
    column(
      new Int32(),
      ids.map((i) => maybe(i, (i % 100) - 50)),
    ),
    column(
      new Int32(),
      ids.map((i) => maybe(i, i % 3 === 0 ? (i % 2 ? 2147483647 : -2147483648) : Math.floor((rand() - 0.5) * 2 ** 32))),
    ),
    column(
      new Int16(),
      ids.map((i) => maybe(i, (i % 65536) - 32768)),
    ),
    column(
      new Int8(),
      ids.map((i) => maybe(i, (i % 256) - 128)),
    ),
    column(
      new Uint32(),
      ids.map((i) => maybe(i, i % 4 === 0 ? 4294967295 : Math.floor(rand() * 2 ** 32))),
    ),
    column(
      new Float64(),
      ids.map((i) => maybe(i, i % 50 === 0 ? -0 : (rand() - 0.5) * 1e6)),
    ),
    column(
      new Float32(),
      ids.map((i) => maybe(i, Math.fround(rand()))),
    ),
    column(
      new Utf8(),
      ids.map((i) => maybe(i, i % 11 === 0 ? "" : i % 17 === 0 ? "ü€😀".repeat(20) : `v${Math.floor(rand() * 1e9).toString(36)}`)),
    ),
    column(
      new Utf8(),
      ids.map((i) => maybe(i, ["red", "green", "blue"][i % 3]!)),
    ),
    column(
      new Utf8(),
      ids.map((i) => maybe(i, categories[Math.floor(rand() * (i < n / 2 ? categories.length - 1 : categories.length))]!)),
    ),
    column(
      new Bool(),
      ids.map((i) => maybe(i, rand() < 0.3)),
    ),
  ];
  return new Table([batchOf(fields, columns, n)]);
}

const ALL_EDGE = ["i64", "i64_wide", "i32", "i32_wide", "i16", "i8", "u32", "f64", "f32", "s", "low_card", "categories", "flag"];

async function writeWithWasm(
  data: Table,
  configure: (b: InstanceType<typeof pw.WriterPropertiesBuilder>) => InstanceType<typeof pw.WriterPropertiesBuilder>,
): Promise<Uint8Array> {
  const properties = configure(new pw.WriterPropertiesBuilder().setMaxRowGroupSize(3_000).setDataPageSizeLimit(4_096)).build();
  return pw.writeParquet(pw.Table.fromIPCStream(tableToIPC(data, "stream")), properties);
}

describe("JavaScript Parquet decoder", () => {
  it("decodes what Stowage writes (every flat type, nulls, dictionary, delta and byte-stream-split pages) as parquet-wasm does", async () => {
    for (const [name, data] of [
      ["every", everyTypeTable(7_000)],
      ["ml", mlTable(20_000)],
    ] as const) {
      const path = `${dir}/stowage-${name}`;
      await table({ data, path }).write({ rowGroupSize: 3_000 });
      const manifest = JSON.parse(await readFile(`${path}/_stowage_table.json`, "utf8")) as { files: { path: string }[] };
      const file = await readFile(`${path}/${manifest.files[0]!.path}`);
      const expectTaken =
        name === "every" ? ["id", "i32", "f64", "f32", "s", "flag", "ts_utc", "ts_local", "day", "split"] : ["id", "x", "y", "cat", "text", "ts", "split"];
      const taken = await compareDecoders(file, expectTaken);
      // Decimals, lists and structs stay with parquet-wasm.
      expect(taken).not.toContain("price");
      expect(taken).not.toContain("tags");
      expect(taken).not.toContain("point");
    }
  });

  for (const nulls of [false, true]) {
    it(`decodes each encoding, codec and page version parquet-wasm writes (${nulls ? "with" : "without"} nulls)`, async () => {
      const data = edgeTable(10_000, nulls);
      const E = pw.Encoding;
      const variants: [string, Parameters<typeof writeWithWasm>[1]][] = [
        ["plain, uncompressed", (b) => b.setDictionaryEnabled(false).setCompression(pw.Compression.UNCOMPRESSED)],
        ["dictionary, zstd", (b) => b.setDictionaryEnabled(true).setCompression(pw.Compression.ZSTD)],
        ["dictionary, page v2, gzip", (b) => b.setDictionaryEnabled(true).setWriterVersion(pw.WriterVersion.V2).setCompression(pw.Compression.GZIP)],
        [
          "delta and byte-stream-split, zstd",
          (b) =>
            ["i64", "i64_wide", "i32", "i32_wide", "i16", "i8", "u32"]
              .reduce((x, c) => x.setColumnEncoding(c, E.DELTA_BINARY_PACKED), b.setDictionaryEnabled(false).setCompression(pw.Compression.ZSTD))
              .setColumnEncoding("f64", E.BYTE_STREAM_SPLIT)
              .setColumnEncoding("f32", E.BYTE_STREAM_SPLIT)
              .setColumnEncoding("s", E.DELTA_LENGTH_BYTE_ARRAY)
              .setColumnEncoding("low_card", E.DELTA_LENGTH_BYTE_ARRAY),
        ],
        [
          "page v2, RLE booleans, brotli",
          (b) => b.setDictionaryEnabled(false).setWriterVersion(pw.WriterVersion.V2).setColumnEncoding("flag", E.RLE).setCompression(pw.Compression.BROTLI),
        ],
      ];
      for (const [name, configure] of variants) {
        const file = await writeWithWasm(data, configure);
        await expect(compareDecoders(file, ALL_EDGE), name).resolves.toBeDefined();
      }
    });
  }

  it("reads every type whole (results carved from one arena, nulls included) as written", async () => {
    const data = everyTypeTable(40_000);
    const path = `${dir}/arena-every-type`;
    await table({ data, path }).write({ rowGroupSize: 5_000 });
    const back = await table({ path }).fetch();
    expect(rowsById(back)).toEqual(rowsById(data));
    // Columns of one read share the arena's buffer; each still reads as its own.
    const x = back.getChild("f64")!;
    expect(x.data[0]!.values.buffer).toBe(back.getChild("id")!.data[0]!.values.buffer);
  });

  it("reads a table of many row groups whole, as written, with column chunk buffers reused between row groups", async () => {
    const data = mlTable(60_000);
    const path = `${dir}/many-groups`;
    await table({ data, path }).write({ rowGroupSize: 2_000 });
    const back = await table({ path }).fetch();
    expect(back.numRows).toBe(60_000);
    expect(rowsById(back)).toEqual(rowsById(data));
    const some = await table({ path }).fetch({ columns: ["text", "x"], filter: [["id", ">=", 30_000]] });
    expect(some.numRows).toBe(30_000);
    expect(some.getChild("text")!.get(0)).toBe(data.getChild("text")!.get(30_000));
  });

  it("refuses snappy pages (left to parquet-wasm)", async () => {
    const file = await writeWithWasm(edgeTable(2_000, true), (b) => b.setCompression(pw.Compression.SNAPPY));
    expect(await compareDecoders(file, [])).toEqual([]);
  });

  it("decodes Parquet DuckDB writes (version 1 and 2, zstd and uncompressed) as parquet-wasm does", async () => {
    const connection = await (await DuckDBInstance.create(":memory:", { autoinstall_known_extensions: "false" })).connect();
    try {
      const select = `SELECT i::BIGINT AS id, CASE WHEN i % 9 = 0 THEN NULL ELSE (i * 37) % 1000 - 500 END::INTEGER AS n,
        (i / 7.0)::DOUBLE AS d, (i % 13)::FLOAT AS f, CASE WHEN i % 5 = 0 THEN NULL ELSE 'row-' || (i % 300)::VARCHAR END AS s,
        i % 3 = 0 AS b, TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_microseconds(i * 1234567) AS ts, DATE '2020-01-01' + (i % 1000)::INTEGER AS day
        FROM range(30000) t(i)`;
      for (const options of ["COMPRESSION zstd", "COMPRESSION uncompressed, PARQUET_VERSION v2", "COMPRESSION zstd, PARQUET_VERSION v2"]) {
        const path = `${dir}/duck-${options.replace(/\W+/g, "-")}.parquet`;
        await connection.run(`SET TimeZone = 'UTC'; COPY (${select}) TO '${path}' (FORMAT parquet, ROW_GROUP_SIZE 10000, ${options})`);
        await expect(compareDecoders(await readFile(path), ["id", "n", "d", "f", "s", "b", "ts", "day"]), options).resolves.toBeDefined();
      }
    } finally {
      connection.closeSync();
    }
  });
});
