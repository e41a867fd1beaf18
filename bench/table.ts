/**
 * Table benchmark (not a test): 5,000,000 rows (id int64, x float64, y float32, cat string of 10
 * values, text ~20 random chars, ts timestamp[µs, UTC]). Each task runs in a fresh process (so peak
 * RSS is its own), in interleaved rounds, side by side with DuckDB and Polars; medians and ratios go
 * to bench/RESULTS.md (the "Table" section).
 *
 *   npx tsx bench/table.ts [rounds=3] [--tasks "read stowage,read duckdb"]
 *
 * With --tasks only those tasks run, and the results are printed, not written to RESULTS.md.
 */
import { execFile } from "node:child_process";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { RecordBatchFileWriter, tableFromIPC } from "apache-arrow";
import { writeResultsSection } from "./results.js";

const ROWS = 5_000_000;
const BATCH = 10_000;
const DIR = join(tmpdir(), "stowage-bench-table");
const IPC = join(DIR, "data.arrow");
const STOWAGE_DIR = join(DIR, "stowage");
const run = promisify(execFile);

interface Result {
  task: string;
  ms: number;
  peakRssMB: number;
  rows?: number;
  bytes?: number;
  note?: string;
}

async function loadTable() {
  return tableFromIPC(await readFile(IPC));
}

/** The single Parquet file Stowage wrote; every reader reads this same file. */
async function stowageFile(): Promise<string> {
  const manifest = JSON.parse(await readFile(join(STOWAGE_DIR, "_stowage_table.json"), "utf8")) as { files: { path: string }[] };
  return join(STOWAGE_DIR, manifest.files[0]!.path);
}

/**
 * Stowage with its table engine (Arrow JS, hyparquet, the table modules) already imported, as
 * DuckDB and Polars are before their timings: the timings are the work, not module loading (which
 * under tsx, transpiling the sources, took ~0.7 s of a 2.5 s stream).
 */
async function stowage() {
  await import("../src/resources/table/engine.js");
  return import("../src/index.js");
}

async function duck() {
  const { DuckDBInstance } = await import("@duckdb/node-api");
  return (await DuckDBInstance.create(":memory:", { autoinstall_known_extensions: "false" })).connect();
}

const TASKS: Record<string, () => Promise<Omit<Result, "task" | "peakRssMB">>> = {
  async "write stowage"() {
    const { table } = await stowage();
    const data = await loadTable();
    const out = join(DIR, "w-stowage");
    const t0 = performance.now();
    await table({ data, path: out }).write({ maxRowsPerFile: ROWS });
    const ms = performance.now() - t0;
    const bytes = await dirBytes(out);
    await rm(out, { recursive: true, force: true });
    return { ms, bytes, note: "Arrow in memory → zstd Parquet" };
  },
  async "write polars"() {
    const pl = (await import("nodejs-polars")).default;
    const { tableToIPC } = await import("apache-arrow");
    const data = await loadTable();
    const out = join(DIR, "w-polars.parquet");
    const t0 = performance.now();
    const df = pl.readIPCStream(Buffer.from(tableToIPC(data, "stream")));
    df.writeParquet(out, { compression: "zstd" });
    const ms = performance.now() - t0;
    const bytes = (await stat(out)).size;
    await rm(out, { force: true });
    return { ms, bytes, note: "Arrow → IPC → Polars ingest + writeParquet zstd" };
  },
  async "write duckdb"() {
    const connection = await duck();
    const file = await stowageFile();
    await connection.run(`CREATE TABLE t AS SELECT * FROM read_parquet('${file}')`);
    const out = join(DIR, "w-duck.parquet");
    const t0 = performance.now();
    await connection.run(`COPY t TO '${out}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 100000)`);
    const ms = performance.now() - t0;
    const bytes = (await stat(out)).size;
    await rm(out, { force: true });
    return { ms, bytes, note: "engine only: COPY from a table already inside DuckDB (node-api has no Arrow ingest)" };
  },
  async "read stowage"() {
    const { table } = await stowage();
    const t0 = performance.now();
    const result = await table({ path: STOWAGE_DIR }).fetch();
    return { ms: performance.now() - t0, rows: result.numRows, note: "→ Arrow JS Table" };
  },
  async "read duckdb"() {
    const connection = await duck();
    const file = await stowageFile();
    const t0 = performance.now();
    await connection.run(`CREATE TABLE t AS SELECT * FROM read_parquet('${file}')`);
    return { ms: performance.now() - t0, note: "materialised as a DuckDB table" };
  },
  async "read polars"() {
    const pl = (await import("nodejs-polars")).default;
    const file = await stowageFile();
    const t0 = performance.now();
    const df = pl.readParquet(file);
    return { ms: performance.now() - t0, rows: df.height, note: "→ Polars DataFrame" };
  },
  async "column stowage"() {
    const { table } = await stowage();
    const t0 = performance.now();
    const result = await table({ path: STOWAGE_DIR }).fetch({ columns: ["x"] });
    return { ms: performance.now() - t0, rows: result.numRows };
  },
  async "column duckdb"() {
    const connection = await duck();
    const file = await stowageFile();
    const t0 = performance.now();
    await connection.run(`CREATE TABLE t AS SELECT x FROM read_parquet('${file}')`);
    return { ms: performance.now() - t0 };
  },
  async "column polars"() {
    const pl = (await import("nodejs-polars")).default;
    const file = await stowageFile();
    const t0 = performance.now();
    const df = pl.readParquet(file, { columns: ["x"] });
    return { ms: performance.now() - t0, rows: df.height };
  },
  async "stream stowage"() {
    const { table } = await stowage();
    let rows = 0;
    const t0 = performance.now();
    for await (const batch of table({ path: STOWAGE_DIR }).stream({ batchSize: BATCH })) rows += batch.numRows;
    return { ms: performance.now() - t0, rows, note: `Arrow RecordBatches of ${BATCH}` };
  },
  async "stream stowage shuffled"() {
    const { table } = await stowage();
    let rows = 0;
    const t0 = performance.now();
    for await (const batch of table({ path: STOWAGE_DIR }).stream({ batchSize: BATCH, shuffleSeed: 1, shuffleBufferSize: 100_000 })) rows += batch.numRows;
    return { ms: performance.now() - t0, rows, note: "seeded shuffle, buffer 100k rows" };
  },
  async "stream duckdb"() {
    const connection = await duck();
    const file = await stowageFile();
    let rows = 0;
    const t0 = performance.now();
    const result = await connection.stream(`SELECT * FROM read_parquet('${file}')`);
    for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) rows += chunk.rowCount;
    return { ms: performance.now() - t0, rows, note: "fetchChunk (2,048-row DuckDB chunks, not converted to JS)" };
  },
  async "stream polars"() {
    const pl = (await import("nodejs-polars")).default;
    const file = await stowageFile();
    let rows = 0;
    const t0 = performance.now();
    for (let offset = 0; offset < ROWS; offset += BATCH) rows += pl.scanParquet(file).slice(offset, BATCH).collectSync().height;
    return { ms: performance.now() - t0, rows, note: "scanParquet().slice().collectSync() per batch (no batch iterator)" };
  },
};

async function dirBytes(dir: string): Promise<number> {
  const { readdir } = await import("node:fs/promises");
  let total = 0;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith(".parquet")) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

async function prepare(): Promise<void> {
  await mkdir(DIR, { recursive: true });
  const exists = await stat(IPC).then(
    () => true,
    () => false,
  );
  if (!exists) {
    const { mlTable } = await import("../test/table/data.js");
    const writer = new RecordBatchFileWriter();
    const chunks: Uint8Array[] = [];
    writer.reset(undefined);
    const parts: Promise<void>[] = [];
    const sink = (async () => {
      for await (const chunk of writer) chunks.push(chunk);
    })();
    for (let first = 0; first < ROWS; first += 500_000)
      for (const batch of mlTable(500_000, first, first + 1).selectAt([0, 1, 2, 3, 4, 5]).batches) writer.write(batch);
    writer.finish();
    await Promise.all([sink, ...parts]);
    await writeFile(IPC, Buffer.concat(chunks));
  }
  await rm(STOWAGE_DIR, { recursive: true, force: true });
  const { table } = await import("../src/index.js");
  await table({ data: await loadTable(), path: STOWAGE_DIR }).write({ maxRowsPerFile: ROWS });
}

async function child(task: string): Promise<Result> {
  const { stdout } = await run(process.execPath, ["--import", "tsx", new URL(import.meta.url).pathname, "--task", task], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split("\n").pop()!) as Result;
}

/** One-column read from S3 (Swift s3api): bytes fetched ÷ file size, counted at the System. */
async function remoteProjection(): Promise<string> {
  const { startSwift } = await import("../test/servers/swift.js");
  const server = await startSwift().catch((error: Error) => error);
  if (server instanceof Error) return `pending: the S3 test server did not start (${server.message})`;
  try {
    Object.assign(process.env, server.env);
    const { table, openSystem, closeSystems } = await import("../src/index.js");
    const { countingSystem } = await import("../test/table/data.js");
    const s3 = await openSystem("s3://bench");
    await table({ data: await loadTable(), path: { system: s3, path: "/bench/table" } }).write({ maxRowsPerFile: ROWS });
    let size = 0;
    for await (const e of s3.list("/bench/table", { recursive: true })) if (e.path.endsWith(".parquet")) size += e.size;
    const counted = countingSystem(s3);
    const t0 = performance.now();
    const x = await table({ path: { system: counted.system, path: "/bench/table" } }).fetch({ columns: ["x"] });
    const ms = performance.now() - t0;
    await closeSystems();
    const share = counted.bytes() / size;
    return `one-column (x) read of ${x.numRows.toLocaleString("en")} rows from S3 (Swift s3api): ${counted.requests()} range requests, ${counted.bytes().toLocaleString("en")} of ${size.toLocaleString("en")} bytes = **${(share * 100).toFixed(1)}%** of the file (goal < 25%: ${share < 0.25 ? "met" : "missed"}), ${ms.toFixed(0)} ms`;
  } finally {
    await server.stop();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function chosenTasks(): string[] | undefined {
  const at = process.argv.indexOf("--tasks");
  if (at < 0) return undefined;
  const chosen = (process.argv[at + 1] ?? "").split(",").map((t) => t.trim());
  const unknown = chosen.filter((t) => !(t in TASKS));
  if (unknown.length > 0) throw new Error(`unknown tasks ${unknown.join(", ")}; known: ${Object.keys(TASKS).join(", ")}`);
  return chosen;
}

async function main(): Promise<void> {
  const rounds = Number(/^\d+$/.test(process.argv[2] ?? "") ? process.argv[2] : 3);
  const chosen = chosenTasks();
  console.log(`preparing ${ROWS.toLocaleString("en")} rows in ${DIR}`);
  await prepare();
  const names = chosen ?? Object.keys(TASKS);
  const results = new Map<string, Result[]>(names.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    // Interleaved, in a different order each round.
    const order = [...names].sort(() => Math.random() - 0.5);
    for (const name of order) {
      const result = await child(name);
      results.get(name)!.push(result);
      console.log(`round ${round + 1} ${name}: ${result.ms.toFixed(0)} ms, peak RSS ${result.peakRssMB} MB`);
    }
  }
  const med = (name: string) => median(results.get(name)!.map((r) => r.ms));
  if (chosen) {
    for (const name of names)
      console.log(
        `${name}: median ${med(name).toFixed(0)} ms (${results
          .get(name)!
          .map((r) => r.ms.toFixed(0))
          .join(" / ")}), peak RSS ${Math.max(...results.get(name)!.map((r) => r.peakRssMB))} MB`,
      );
    return;
  }
  const rss = (name: string) => Math.max(...results.get(name)!.map((r) => r.peakRssMB));
  const line = (name: string) => {
    const r = results.get(name)![0]!;
    const all = results
      .get(name)!
      .map((x) => x.ms.toFixed(0))
      .join(" / ");
    return `| ${name} | ${med(name).toFixed(0)} | ${all} | ${rss(name)} | ${r.bytes ? r.bytes.toLocaleString("en") : ""} | ${r.note ?? ""} |`;
  };
  const streamRate = ROWS / (med("stream stowage") / 1000);
  const remote = await remoteProjection();
  const ratio = (a: string, b: string) => (med(a) / med(b)).toFixed(2);
  const section = `## Table (bench/table.ts)

${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${ROWS.toLocaleString("en")} rows (id int64, x float64, y float32, cat string of 10 values, text ~20 random chars, ts timestamp[µs, UTC]), ${rounds} interleaved rounds, each task in a fresh process (peak RSS sampled every 5 ms in that process, including Node, the library and, for writes, the ~300 MB input table); every library's modules are loaded before its timing starts. Every reader reads the same zstd file Stowage wrote.

| task | median ms | rounds ms | peak RSS MB | file bytes | notes |
|---|---|---|---|---|---|
${names.map(line).join("\n")}

Goals (from issue 4):

- write no slower than Polars: Stowage / Polars = **${ratio("write stowage", "write polars")}×** (${med("write stowage") <= med("write polars") ? "met" : "missed"}).
- full read no slower than DuckDB materialising the same file: Stowage / DuckDB = **${ratio("read stowage", "read duckdb")}×** (${med("read stowage") <= med("read duckdb") ? "met" : "missed"}). One column: ${ratio("column stowage", "column duckdb")}× DuckDB, ${ratio("column stowage", "column polars")}× Polars.
- streaming the whole table under 300 MB peak RSS at ≥ 2M rows/s: **${(streamRate / 1e6).toFixed(2)}M rows/s**, peak RSS **${rss("stream stowage")} MB** (${streamRate >= 2e6 && rss("stream stowage") < 300 ? "met" : "missed"}).
- ${remote}
`;
  await writeResultsSection("## Table (bench/table.ts)", section);
  console.log(section);
}

if (process.argv[2] === "--task") {
  const name = process.argv[3]!;
  // Sampled, not getrusage's maxRSS: on Linux that is inherited from the parent across fork/exec,
  // so every child would report at least the orchestrator's own peak.
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);
  const result = await TASKS[name]!();
  clearInterval(sampler);
  const peakRssMB = Math.round(Math.max(peak, process.memoryUsage.rss()) / 2 ** 20);
  console.log(JSON.stringify({ task: name, peakRssMB, ...result }));
  process.exit(0);
} else {
  await main();
}
