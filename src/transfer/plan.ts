/**
 * Decides what a transfer does: lists the source (and the destination when skipping or deleting
 * needs it), applies the filters, and sorts every file into copy, skip or delete.
 */
import type { Entry, Stat, System } from "../systems/contract.js";
import { baseName, relativePath } from "../systems/paths.js";
import { readAll } from "../systems/body.js";
import { isStowageError } from "../errors.js";
import { createFilter } from "./filters.js";
import type { Journal } from "./journal.js";
import type { FileResult, SkipMode, TransferOptions } from "./types.js";

export interface PlannedCopy {
  /** Path relative to the source root ("" when the source is a single file). */
  relative: string;
  source: Stat;
  destinationPath: string;
}

export interface Plan {
  copy: PlannedCopy[];
  skip: FileResult[];
  delete: Entry[];
}

export interface Endpoint {
  system: System;
  path: string;
}

function joinRelative(root: string, relative: string): string {
  if (relative === "") return root;
  return root === "/" ? `/${relative}` : `${root}/${relative}`;
}

async function listFiles(endpoint: Endpoint, signal?: AbortSignal): Promise<Map<string, Entry>> {
  const files = new Map<string, Entry>();
  for await (const entry of endpoint.system.list(endpoint.path, { recursive: true, ...(signal ? { signal } : {}) })) {
    const relative = relativePath(endpoint.path, entry.path);
    if (relative) files.set(relative, entry);
  }
  return files;
}

/** Stats an explicit list of files instead of listing the whole source. */
async function statFiles(endpoint: Endpoint, relatives: readonly string[]): Promise<Map<string, Entry>> {
  const files = new Map<string, Entry>();
  let next = 0;
  const lane = async () => {
    while (next < relatives.length) {
      const relative = relatives[next++]!;
      files.set(relative, await endpoint.system.stat(joinRelative(endpoint.path, relative)));
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, relatives.length) }, lane));
  return files;
}

async function readIgnoreFiles(source: Endpoint, names: readonly string[]): Promise<string[]> {
  const lines: string[] = [];
  for (const name of names) {
    try {
      lines.push(...(await readAll(await source.system.read(joinRelative(source.path, name)))).toString("utf8").split(/\r?\n/));
    } catch (error) {
      if (!isStowageError(error, "NotFound")) throw error;
    }
  }
  return lines;
}

function unchanged(mode: SkipMode, source: Stat, existing: Entry | undefined): boolean {
  if (!existing || mode === "never" || existing.size !== source.size) return false;
  switch (mode) {
    case "size":
      return true;
    case "size-mtime":
      return !!source.mtime && !!existing.mtime && existing.mtime.getTime() >= source.mtime.getTime();
    case "checksum":
      return !!source.md5 && source.md5 === existing.md5;
  }
}

/** `sourceStat` is the stat of the source root: a file is copied alone, a directory with its tree. */
export async function planTransfer(
  source: Endpoint,
  sourceStat: Stat,
  destination: Endpoint,
  options: TransferOptions,
  journal: Journal | undefined,
): Promise<Plan> {
  const signal = options.signal;
  const filter =
    sourceStat.type === "file"
      ? () => true
      : createFilter({
          ...(options.include ? { include: options.include } : {}),
          ...(options.exclude ? { exclude: options.exclude } : {}),
          ignore: await readIgnoreFiles(source, options.ignoreFiles ?? []),
          includeGit: options.includeGit ?? false,
        });
  const candidates =
    sourceStat.type === "file"
      ? new Map<string, Entry>([["", sourceStat]])
      : options.files
        ? await statFiles(source, options.files)
        : await listFiles(source, signal);
  const files = new Map([...candidates].filter(([relative]) => relative === "" || filter(relative)));
  const skipMode = options.skip ?? "never";
  const needsDestination = skipMode !== "never" || options.deleteExtras || (journal !== undefined && files.size > 0);
  const existing = needsDestination && sourceStat.type === "directory" ? await listFiles(destination, signal) : new Map<string, Entry>();
  if (needsDestination && sourceStat.type === "file") {
    const stat = await destination.system.stat(destination.path).catch(() => undefined);
    if (stat?.type === "file") existing.set("", stat);
  }
  const plan: Plan = { copy: [], skip: [], delete: [] };
  for (const [relative, entry] of files) {
    const there = existing.get(relative);
    const path = relative || baseName(entry.path);
    if (there && journal?.finished(relative, entry.size, entry.mtime?.getTime()) && there.size === entry.size) {
      plan.skip.push({ path, bytes: entry.size, reason: "resumed" });
    } else if (unchanged(skipMode, entry, there)) {
      plan.skip.push({ path, bytes: entry.size, reason: "unchanged" });
    } else {
      plan.copy.push({ relative, source: entry, destinationPath: joinRelative(destination.path, relative) });
    }
  }
  if (options.deleteExtras && sourceStat.type === "directory") {
    // Files the filters leave out are left alone at the destination too, as rclone does.
    for (const [relative, entry] of existing) if (!files.has(relative) && filter(relative)) plan.delete.push(entry);
  }
  return plan;
}
