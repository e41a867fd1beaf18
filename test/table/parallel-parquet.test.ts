/**
 * The pieces behind parallel Parquet: the compact-Thrift codec that edits footers, the assembler
 * that joins row groups encoded by different workers into one file, the delta-encoding choice, and
 * the worker pool's error paths. Files are checked by content: read back by Stowage and by DuckDB.
 */
import { randomFillSync } from "node:crypto";
import { full } from "../support/full-system.js";
import { readdir, readFile, rm } from "node:fs/promises";
import { DuckDBInstance } from "@duckdb/node-api";
import { Binary, Float64, Int64, makeVector, RecordBatch, Table, tableToIPC, Utf8, vectorFromArray } from "apache-arrow";
import { afterAll, describe, expect, it } from "vitest";
import { StowageError } from "../../src/errors.js";
import { openSystem, table } from "../../src/index.js";
import type { ByteRange, ReadOptions, System } from "../../src/systems/contract.js";
import { ParquetAssembler } from "../../src/parquet/assembler.js";
import { chooseColumnEncodings } from "../../src/parquet/writer.js";
import { chunkSpans } from "../../src/resources/table/read.js";
import { field, readStruct, type ThriftList, type ThriftStruct, writeStruct } from "../../src/parquet/thrift-compact.js";
import { parquetWasm } from "../../src/parquet/wasm.js";
import { tempDir } from "../support/process.js";
import { everyTypeTable, mlTable, plain } from "./data.js";

const dir = tempDir("table-parallel");
afterAll(() => rm(dir, { recursive: true, force: true }));

function footerOf(file: Uint8Array): ThriftStruct {
  const length = new DataView(file.buffer, file.byteOffset, file.byteLength).getUint32(file.length - 8, true);
  return readStruct(file.subarray(file.length - 8 - length, file.length - 8));
}

const list = (struct: ThriftStruct, id: number) => (field(struct, id)!.value as ThriftList).items as ThriftStruct[];
// parquet.thrift's CompressionCodec values.
const UNCOMPRESSED = 0;
const ZSTD = 6;
const int = (struct: ThriftStruct, id: number) => Number(field(struct, id)!.value);

/** A whole Parquet file written by parquet-wasm on this thread, with row groups of `rowGroupSize`. */
async function parquetFile(data: Table, rowGroupSize: number): Promise<Uint8Array> {
  const pw = await parquetWasm();
  const properties = new pw.WriterPropertiesBuilder().setMaxRowGroupSize(rowGroupSize).setCompression(pw.Compression.ZSTD).build();
  return pw.writeParquet(pw.Table.fromIPCStream(tableToIPC(data, "stream")), properties);
}

async function onlyParquetFile(path: string): Promise<string> {
  const names = (await readdir(path)).filter((n) => n.endsWith(".parquet"));
  expect(names).toHaveLength(1);
  return `${path}/${names[0]!}`;
}

describe("compact Thrift", () => {
  it("reads and writes a real Parquet footer back byte for byte", async () => {
    const file = await parquetFile(everyTypeTable(300), 100);
    const length = new DataView(file.buffer, file.byteOffset).getUint32(file.length - 8, true);
    const footer = file.subarray(file.length - 8 - length, file.length - 8);
    const struct = readStruct(footer);
    expect(int(struct, 3)).toBe(300);
    expect(list(struct, 4)).toHaveLength(3);
    expect(Buffer.from(writeStruct(struct)).equals(Buffer.from(footer))).toBe(true);
  });
});

describe("assembling one file from separately encoded row groups", () => {
  it("keeps every value, and every offset and page index points where it should", async () => {
    const data = everyTypeTable(1_000);
    const parts = await Promise.all([0, 400, 700].map((start, i, starts) => parquetFile(data.slice(start, starts[i + 1] ?? 1_000), 1_000)));
    const assembler = new ParquetAssembler();
    const chunks = [...parts.flatMap((part) => assembler.add(part)), ...assembler.finish()];
    const file = Buffer.concat(chunks);
    const footer = footerOf(file);
    expect(int(footer, 3)).toBe(1_000);
    const groups = list(footer, 4);
    expect(groups.map((g) => int(g, 3))).toEqual([400, 300, 300]);
    expect(groups.map((g) => int(g, 7))).toEqual([0, 1, 2]);
    for (const group of groups) {
      for (const chunk of list(group, 1)) {
        const meta = field(chunk, 3)!.value as ThriftStruct;
        const firstPage = Number(field(meta, 11)?.value ?? field(meta, 9)!.value);
        // The offset index, found at its new offset, lists the chunk's pages at their new offsets.
        const offsetIndex = readStruct(file.subarray(int(chunk, 4), int(chunk, 4) + int(chunk, 5)));
        expect(int(list(offsetIndex, 1)[0]!, 1)).toBe(Number(field(meta, 9)!.value));
        expect(firstPage).toBeLessThan(int(chunk, 4));
      }
    }
    const path = `${dir}/assembled.parquet`;
    const system = full(await openSystem("/"));
    await system.write(path, file);
    const back = await table({ path }).fetch();
    expect(back.toArray().map((row) => plain(row))).toEqual(data.toArray().map((row) => plain(row)));
    // A reader that uses the offset index for pruning: statistics and page offsets must agree.
    const picked = await table({ path }).fetch({ columns: ["id"], filter: [["id", ">=", 950n]] });
    expect(picked.numRows).toBe(50);
  });

  it("writes a table in parallel row groups that DuckDB reads back exactly", async () => {
    const data = mlTable(50_000);
    const path = `${dir}/ml`;
    await table({ data, path }).write({ rowGroupSize: 7_000 });
    const file = await onlyParquetFile(path);
    expect(list(footerOf(await readFile(file)), 4).map((g) => int(g, 3))).toEqual([7_000, 7_000, 7_000, 7_000, 7_000, 7_000, 7_000, 1_000]);
    const connection = await (await DuckDBInstance.create(":memory:")).connect();
    const rows = (
      await connection.runAndReadAll(`SELECT count(*), sum(id), sum(x), count(DISTINCT cat), sum(length(text)) FROM read_parquet('${file}')`)
    ).getRows()[0]!;
    let sumX = 0;
    let textLength = 0;
    for (const value of data.getChild("x")!) sumX += value as number;
    for (const value of data.getChild("text")!) textLength += (value as string).length;
    expect(rows).toEqual([50_000n, BigInt((49_999 * 50_000) / 2), sumX, 10n, BigInt(textLength)]);
    const back = await table({ path }).fetch();
    expect(back.getChild("text")!.toArray()).toEqual(data.getChild("text")!.toArray());
    expect(back.getChild("ts")!.toArray()).toEqual(data.getChild("ts")!.toArray());
  });
});

describe("column encoding choice", () => {
  it("delta-encodes sorted integer-like columns, byte-splits floats and keeps string lengths apart", () => {
    const sorted = vectorFromArray([1n, 2n, 2n, 9n], new Int64());
    const unsorted = vectorFromArray([3n, 1n, 2n, 4n], new Int64());
    const withNull = vectorFromArray([1n, null, 3n, 4n], new Int64());
    const floats = vectorFromArray([1, 2, 3, 4], new Float64());
    const strings = vectorFromArray(["a", "bb", null, "dddd"], new Utf8());
    const bytes = vectorFromArray([new Uint8Array([1]), new Uint8Array([2, 3]), null, new Uint8Array(0)], new Binary());
    const batch = new Table({ sorted, unsorted, withNull, floats, strings, bytes }).batches[0] as RecordBatch;
    expect(chooseColumnEncodings(batch)).toEqual({
      sorted: "DELTA_BINARY_PACKED",
      floats: "BYTE_STREAM_SPLIT",
      strings: "DELTA_LENGTH_BYTE_ARRAY",
      bytes: "DELTA_LENGTH_BYTE_ARRAY",
    });
  });
});

describe("columns the codec barely shrinks", () => {
  it("are stored uncompressed once the first row group shows it, and every reader reads the mix", async () => {
    const n = 12_000;
    // Random bits: no codec shrinks them. Beside them, a column zstd shrinks to almost nothing.
    const noise = new Float64Array(n);
    randomFillSync(new Uint8Array(noise.buffer));
    for (let i = 0; i < n; i++) if (!Number.isFinite(noise[i]!)) noise[i] = i;
    const steps = Float64Array.from({ length: n }, (_, i) => i % 7);
    const path = `${dir}/codecs`;
    await table({ data: new Table({ noise: makeVector(noise), steps: makeVector(steps) }), path }).write({ rowGroupSize: 1_000 });
    const file = await onlyParquetFile(path);
    const codecOf = (chunk: ThriftStruct) => ({ [ZSTD]: "zstd", [UNCOMPRESSED]: "none" })[int(field(chunk, 3)!.value as ThriftStruct, 4)] ?? "other";
    const codecs = list(footerOf(await readFile(file)), 4).map((group) => list(group, 1).map(codecOf));
    // Row groups already encoding when the first one came back keep zstd; all after it follow the choice.
    expect(codecs[0]).toEqual(["zstd", "zstd"]);
    expect(codecs.at(-1)).toEqual(["none", "zstd"]);
    expect(codecs.every(([, s]) => s === "zstd")).toBe(true);
    expect(codecs.findIndex(([x]) => x === "none")).toBeLessThanOrEqual(4);
    const back = await table({ path }).fetch();
    expect(back.getChild("noise")!.toArray()).toEqual(noise);
    const connection = await (await DuckDBInstance.create(":memory:")).connect();
    const rows = (await connection.runAndReadAll(`SELECT count(*), sum(steps), max(noise), min(noise) FROM read_parquet('${file}')`)).getRows()[0]!;
    expect(rows).toEqual([BigInt(n), steps.reduce((a, b) => a + b, 0), Math.max(...noise), Math.min(...noise)]);
  });
});

/** A system whose ranged reads of Parquet data (not footers) fail with `code`, streamed or into a buffer. */
function failingDataReads(system: System, code: "Unavailable"): System {
  return new Proxy(system, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (property === "readBytes" && target.readBytes) {
        return (path: string, range: { offset: number; length: number }, options?: Parameters<NonNullable<System["readBytes"]>>[2]) =>
          path.endsWith(".parquet")
            ? Promise.reject(new StowageError({ code, operation: "read", path, message: "injected failure" }))
            : target.readBytes!(path, range, options);
      }
      if (property !== "readRange" || !target.readRange) return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      return (path: string, range: ByteRange, options?: ReadOptions) => {
        if (path.endsWith(".parquet") && !("suffix" in range)) {
          return Promise.reject(new StowageError({ code, operation: "read", path, message: "injected failure" }));
        }
        return target.readRange!(path, range, options);
      };
    },
  });
}

describe("decoding in workers", () => {
  it("a read failing inside a worker's decode rejects with the system's error code, and the pool keeps working", async () => {
    const system = full(await openSystem("/"));
    const path = `${dir}/failing`;
    await table({ data: mlTable(300_000), path }).write();
    await expect(table({ path: { system: failingDataReads(system, "Unavailable"), path } }).fetch()).rejects.toMatchObject({ code: "Unavailable" });
    expect((await table({ path }).fetch()).numRows).toBe(300_000);
  });

  it("a read failing under a stream rejects with the system's error code, and later streams work", async () => {
    const system = full(await openSystem("/"));
    const path = `${dir}/failing-stream`;
    await table({ data: mlTable(300_000), path }).write({ rowGroupSize: 50_000 });
    const drain = async (t: ReturnType<typeof table>) => {
      let rows = 0;
      for await (const batch of t.stream({ batchSize: 10_000 })) rows += batch.numRows;
      return rows;
    };
    await expect(drain(table({ path: { system: failingDataReads(system, "Unavailable"), path } }))).rejects.toMatchObject({ code: "Unavailable" });
    expect(await drain(table({ path }))).toBe(300_000);
  });

  it("streams of different tables sharing the stream worker each get their own rows", async () => {
    // Same shape and row-group layout, different ids: a worker mixing up the files it keeps open would show.
    const paths = [`${dir}/twin-a`, `${dir}/twin-b`];
    await table({ data: mlTable(60_000, 0), path: paths[0]! }).write({ rowGroupSize: 10_000 });
    await table({ data: mlTable(60_000, 1_000_000), path: paths[1]! }).write({ rowGroupSize: 10_000 });
    const ids = async (path: string) => {
      const seen: bigint[] = [];
      for await (const batch of table({ path }).stream({ batchSize: 5_000, columns: ["id"] })) seen.push(...(batch.getChild("id")!.toArray() as BigInt64Array));
      return seen;
    };
    const [a, b] = await Promise.all(paths.map(ids));
    expect(a).toEqual(Array.from({ length: 60_000 }, (_, i) => BigInt(i)));
    expect(b).toEqual(Array.from({ length: 60_000 }, (_, i) => BigInt(1_000_000 + i)));
  });

  it("reads a row group's wanted column chunks as few spans: adjacent and near chunks joined, distant ones apart", () => {
    const chunks = new Map([
      ["a", [{ start: 4, end: 100 }]],
      ["b", [{ start: 100, end: 5_000 }]],
      ["c", [{ start: 6_000, end: 7_000 }]],
      ["d", [{ start: 1_000_000, end: 1_200_000 }]],
      [
        "nested",
        [
          { start: 1_200_000, end: 1_300_000 },
          { start: 2_000_000, end: 2_100_000 },
        ],
      ],
    ]);
    const footer = { rows: 10, keyValue: new Map(), rowGroups: [{ index: 0, rows: 10, stats: new Map(), chunks }] };
    expect(chunkSpans(footer, 0, ["b", "a", "c"])).toEqual([{ start: 4, end: 7_000 }]);
    expect(chunkSpans(footer, 0, ["a", "d"])).toEqual([
      { start: 4, end: 100 },
      { start: 1_000_000, end: 1_200_000 },
    ]);
    expect(chunkSpans(footer, 0, ["nested", "d"])).toEqual([
      { start: 1_000_000, end: 1_300_000 },
      { start: 2_000_000, end: 2_100_000 },
    ]);
    expect(chunkSpans(footer, 0, ["partition-column-not-in-file"])).toEqual([]);
  });

  it("a file whose column data is corrupt fails the read, and the pool keeps working", async () => {
    const system = full(await openSystem("/"));
    const path = `${dir}/corrupt`;
    await table({ data: mlTable(20_000), path }).write();
    const file = await onlyParquetFile(path);
    const bytes = await readFile(file);
    const footer = footerOf(bytes);
    const firstChunk = list(list(footer, 4)[0]!, 1)[0]!;
    const dataStart = Number(field(field(firstChunk, 3)!.value as ThriftStruct, 9)!.value);
    bytes.fill(0xff, dataStart, dataStart + 64);
    await system.write(file, bytes);
    await expect(table({ path }).fetch()).rejects.toBeInstanceOf(Error);
    await table({ data: mlTable(20_000), path }).write();
    expect((await table({ path }).fetch()).numRows).toBe(20_000);
  });
});
