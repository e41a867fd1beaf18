/** `stowage table …`: look into, count, fetch, stream and write Parquet tables on any system. */
import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { parseArgs } from "node:util";
import { StowageError, table, type Filter, type FilterClause, type FilterOp, type Row } from "../../index.js";
import { printJson } from "../output.js";
import { usageError } from "./cp.js";
import { placeArg } from "./places.js";

import { TABLE_USAGE as usage } from "../usage.js";

export { usage };

const OPS: readonly FilterOp[] = [">=", "<=", "!=", "==", "=", ">", "<"];

/** 'x>0.5' → ["x", ">", 0.5]; numbers and true/false are typed, quotes around a value are dropped. */
export function parseFilter(text: string): FilterClause {
  for (const op of OPS) {
    const at = text.indexOf(op);
    if (at <= 0) continue;
    const column = text.slice(0, at).trim();
    const raw = text.slice(at + op.length).trim();
    if (!column || raw === "") break;
    return [column, op === "==" ? "=" : op, typedValue(raw.replace(/^(['"])(.*)\1$/, "$2"))];
  }
  throw usageError(`--filter "${text}" is not column OP value (OP: ${OPS.join(" ")})`);
}

function typedValue(raw: string): string | number | boolean | null {
  if (raw === "true" || raw === "false") return raw === "true";
  if (raw === "null") return null;
  if (raw !== "" && Number.isFinite(Number(raw))) return Number(raw);
  return raw;
}

function filterOf(values: string[] | undefined): Filter | undefined {
  return values && values.length > 0 ? values.map(parseFilter) : undefined;
}

function columnsOf(value: string | undefined): string[] | undefined {
  return value === undefined
    ? undefined
    : value
        .split(",")
        .map((c) => c.trim())
        .filter(Boolean);
}

/** A value as JSON can carry it: int64 as a number when exact, else a string. */
function plain(value: unknown): unknown {
  if (typeof value === "bigint") return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

function cell(value: unknown): string {
  const shown = plain(value);
  if (shown === null || shown === undefined) return "";
  return typeof shown === "object" ? JSON.stringify(shown) : String(shown);
}

function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

type Format = "grid" | "csv" | "json";

function formatOf(value: string | undefined, json: boolean | undefined): Format {
  if (json) return "json";
  if (value === undefined) return process.stdout.isTTY ? "grid" : "csv";
  if (value !== "grid" && value !== "csv" && value !== "json") throw usageError("--format must be grid, csv or json");
  return value;
}

export function printRows(rows: readonly Row[], columns: readonly string[], format: Format, header = true): void {
  if (format === "json") {
    for (const row of rows) process.stdout.write(`${JSON.stringify(plain(row))}\n`);
    return;
  }
  if (format === "csv") {
    if (header) process.stdout.write(`${columns.map(csvField).join(",")}\n`);
    for (const row of rows) process.stdout.write(`${columns.map((c) => csvField(cell(row[c]))).join(",")}\n`);
    return;
  }
  const cells = rows.map((row) => columns.map((c) => cell(row[c]).replace(/\s+/g, " ")));
  const widths = columns.map((c, i) => Math.min(40, Math.max(c.length, ...cells.map((r) => r[i]!.length))));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => (v.length > widths[i]! ? `${v.slice(0, widths[i]! - 1)}…` : v.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  process.stdout.write(`${line(columns)}\n${line(widths.map((w) => "─".repeat(w)))}\n`);
  for (const row of cells) process.stdout.write(`${line(row)}\n`);
  process.stdout.write(`(${rows.length} row${rows.length === 1 ? "" : "s"})\n`);
}

/** Minimal RFC 4180 CSV: quoted fields, doubled quotes, CRLF or LF. */
export function parseCsv(text: string): Row[] {
  const records: string[][] = [];
  let field = "";
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === "") quoted = true;
    else if (ch === ",") {
      record.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      record.push(field);
      if (record.length > 1 || record[0] !== "") records.push(record);
      record = [];
      field = "";
    } else field += ch;
  }
  if (field !== "" || record.length > 0) records.push([...record, field]);
  const [header, ...body] = records;
  if (!header) return [];
  // A column is numeric (or boolean) only when every non-empty value is.
  const kinds = header.map((_, c) => {
    const values = body.map((r) => r[c] ?? "").filter((v) => v !== "");
    if (values.length > 0 && values.every((v) => Number.isFinite(Number(v)))) return "number";
    if (values.length > 0 && values.every((v) => v === "true" || v === "false")) return "boolean";
    return "string";
  });
  return body.map((r) =>
    Object.fromEntries(
      header.map((name, c) => {
        const raw = r[c] ?? "";
        if (raw === "") return [name, null];
        return [name, kinds[c] === "number" ? Number(raw) : kinds[c] === "boolean" ? raw === "true" : raw];
      }),
    ),
  );
}

async function readInput(file: string): Promise<Row[]> {
  const extension = extname(file).toLowerCase();
  if (extension === ".parquet") return table({ path: file }).fetch<"rows">({ format: "rows" });
  const text = await readFile(file, "utf8").catch((error: unknown) => {
    throw new StowageError({ code: (error as { code?: string }).code === "ENOENT" ? "NotFound" : "InvalidInput", operation: "read", path: file, cause: error });
  });
  if (extension === ".csv") return parseCsv(text);
  if (extension === ".jsonl" || extension === ".ndjson" || extension === ".json") {
    return text
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line, i) => {
        try {
          return JSON.parse(line) as Row;
        } catch (error) {
          throw new StowageError({ code: "InvalidInput", operation: "read", path: file, message: `line ${i + 1} of ${file} is not JSON`, cause: error });
        }
      });
  }
  throw usageError(`${file}: write takes .csv, .jsonl/.ndjson or .parquet files`);
}

const READ_OPTIONS = {
  columns: { type: "string" },
  filter: { type: "string", multiple: true },
  format: { type: "string" },
  json: { type: "boolean" },
} as const;

export async function tableCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case "head": {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { ...READ_OPTIONS, n: { type: "string", short: "n" } } });
      if (positionals.length !== 1) throw usageError(usage);
      const n = values.n === undefined ? 10 : Number(values.n);
      if (!Number.isInteger(n) || n < 0) throw usageError("-n must be a whole number");
      const t = table({ path: await placeArg(positionals[0]!) });
      const columns = columnsOf(values.columns);
      const head = await t.head(n, { ...(columns ? { columns } : {}) });
      printRows(
        head.toArray().map((r) => r.toJSON() as Row),
        head.schema.fields.map((f) => f.name),
        formatOf(values.format, values.json),
      );
      return;
    }
    case "schema": {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { json: { type: "boolean" } } });
      if (positionals.length !== 1) throw usageError(usage);
      const schema = await table({ path: await placeArg(positionals[0]!) }).schema();
      const fields = schema.fields.map((f) => ({ name: f.name, type: String(f.type), nullable: f.nullable }));
      if (values.json) return printJson(fields);
      const width = Math.max(...fields.map((f) => f.name.length), 4);
      for (const f of fields) process.stdout.write(`${f.name.padEnd(width)}  ${f.type}${f.nullable ? "" : " not null"}\n`);
      return;
    }
    case "count": {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { filter: { type: "string", multiple: true }, json: { type: "boolean" } },
      });
      if (positionals.length !== 1) throw usageError(usage);
      const filter = filterOf(values.filter);
      const rows = await table({ path: await placeArg(positionals[0]!) }).count(filter ? { filter } : {});
      if (values.json) return printJson({ rows });
      process.stdout.write(`${rows}\n`);
      return;
    }
    case "fetch": {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: READ_OPTIONS });
      if (positionals.length !== 1) throw usageError(usage);
      const columns = columnsOf(values.columns);
      const filter = filterOf(values.filter);
      const fetched = await table({ path: await placeArg(positionals[0]!) }).fetch({ ...(columns ? { columns } : {}), ...(filter ? { filter } : {}) });
      printRows(
        fetched.toArray().map((r) => r.toJSON() as Row),
        fetched.schema.fields.map((f) => f.name),
        formatOf(values.format, values.json),
      );
      return;
    }
    case "stream": {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { ...READ_OPTIONS, "batch-size": { type: "string" }, "shuffle-seed": { type: "string" }, shard: { type: "string" } },
      });
      if (positionals.length !== 1) throw usageError(usage);
      const shard = values.shard === undefined ? undefined : /^(\d+)\/(\d+)$/.exec(values.shard);
      if (values.shard !== undefined && !shard) throw usageError("--shard is INDEX/COUNT, e.g. 0/4");
      const columns = columnsOf(values.columns);
      const filter = filterOf(values.filter);
      const format = values.format === undefined && !values.json ? "json" : formatOf(values.format, values.json);
      const stream = table({ path: await placeArg(positionals[0]!) }).stream({
        format: "rows",
        ...(values["batch-size"] ? { batchSize: Number(values["batch-size"]) } : {}),
        ...(values["shuffle-seed"] ? { shuffleSeed: Number(values["shuffle-seed"]) } : {}),
        ...(shard ? { shard: { index: Number(shard[1]), count: Number(shard[2]) } } : {}),
        ...(columns ? { columns } : {}),
        ...(filter ? { filter } : {}),
      });
      let first = true;
      for await (const batch of stream) {
        const rows = batch;
        printRows(rows, rows[0] ? Object.keys(rows[0]) : [], format, first);
        first = false;
      }
      return;
    }
    case "write": {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { "partition-cols": { type: "string" }, append: { type: "boolean" }, "dry-run": { type: "boolean" }, json: { type: "boolean" } },
      });
      if (positionals.length < 2) throw usageError(usage);
      const files = positionals.slice(0, -1);
      const place = await placeArg(positionals.at(-1)!);
      const rows = (await Promise.all(files.map(readInput))).flat();
      const partitionCols = columnsOf(values["partition-cols"]);
      const written = table({ data: rows, path: place, ...(partitionCols ? { partitionCols } : {}) });
      const dryRun = values["dry-run"] ?? false;
      if (!dryRun) await written.write(values.append ? { mode: "append" } : {});
      const summary = { url: await written.url(), rows: rows.length, files: files.length, mode: values.append ? "append" : "overwrite", dryRun };
      if (values.json) return printJson(summary);
      process.stdout.write(
        `${dryRun ? "would write" : "wrote"} ${summary.rows} rows from ${summary.files} file${summary.files === 1 ? "" : "s"} to ${summary.url}\n`,
      );
      return;
    }
    default:
      throw usageError(usage);
  }
}
