/**
 * The manifest: one small JSON object at `<table>/_stowage_table.json` naming the live data files.
 * Writers put new files under fresh names first and write the manifest last, so Stowage readers,
 * which read only the files it names, switch from the old table to the new one in one step on every
 * system (an object PUT or a rename). The leading underscore keeps Spark, DuckDB and Polars globs
 * (`**\/*.parquet`) from reading it.
 */
import { randomBytes } from "node:crypto";
import { type Schema, Table, tableFromIPC, tableToIPC } from "apache-arrow";
import { StowageError } from "../../errors.js";
import { readAll } from "../../systems/body.js";
import type { System } from "../../systems/contract.js";
import type { Writable } from "../../systems/extensions.js";

export const MANIFEST_NAME = "_stowage_table.json";
const FORMAT = "stowage.table";

export interface ManifestFile {
  /** Relative to the table root, e.g. "split=train/part-….parquet". */
  path: string;
  size: number;
  rows: number;
}

export interface Manifest {
  format: typeof FORMAT;
  version: 1;
  /** Names the write that produced this manifest; its files carry it in their names. */
  generation: string;
  partitionCols: string[];
  metadata: Record<string, unknown>;
  /** The full Arrow schema (partition columns included), as a base64 Arrow IPC stream. */
  schema: string;
  files: ManifestFile[];
}

export function joinPath(root: string, relative: string): string {
  return root === "/" ? `/${relative}` : `${root}/${relative}`;
}

/** Sortable by time, unique across concurrent writers. */
export function newGeneration(): string {
  const stamp = new Date().toISOString().replace(/[-:.]/g, "").slice(0, 18);
  return `${stamp}-${randomBytes(4).toString("hex")}`;
}

/** When the write that named a file `part-<generation>-…` began (ms), or undefined for other names. */
export function generationTime(path: string): number | undefined {
  const match = /\/part-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})-[0-9a-f]{8}-[^/]*\.parquet$/.exec(path);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second, ms] = match.slice(1).map(Number) as [number, number, number, number, number, number, number];
  return Date.UTC(year, month - 1, day, hour, minute, second, ms);
}

export function encodeSchema(schema: Schema): string {
  return Buffer.from(tableToIPC(new Table(schema), "stream")).toString("base64");
}

export function decodeSchema(text: string): Schema {
  return tableFromIPC(Buffer.from(text, "base64")).schema;
}

/** The manifest at `root`, or undefined when there is none. */
export async function readManifest(system: System, root: string, signal?: AbortSignal): Promise<Manifest | undefined> {
  const path = joinPath(root, MANIFEST_NAME);
  let text: string;
  try {
    text = (await readAll(await system.read(path, signal ? { signal } : {}))).toString("utf8");
  } catch (error) {
    const code = (error as StowageError).code;
    if (code === "NotFound" || code === "NotADirectory") return undefined;
    throw error;
  }
  let manifest: Manifest;
  try {
    manifest = JSON.parse(text) as Manifest;
  } catch (error) {
    throw new StowageError({ code: "InvalidInput", operation: "read", path, message: `${path} is not a Stowage table manifest (bad JSON)`, cause: error });
  }
  if (manifest.format !== FORMAT || manifest.version !== 1 || !Array.isArray(manifest.files)) {
    throw new StowageError({
      code: "InvalidInput",
      operation: "read",
      path,
      message: `${path} is not a Stowage table manifest (format ${String(manifest.format)})`,
    });
  }
  return manifest;
}

/** One single-object write: atomic on every system that reports `atomicWrite`. */
export async function writeManifest(system: Writable, root: string, manifest: Manifest, signal?: AbortSignal): Promise<void> {
  const body = JSON.stringify(manifest, null, 1);
  await system.write(joinPath(root, MANIFEST_NAME), body, { contentType: "application/json", ...(signal ? { signal } : {}) });
}
