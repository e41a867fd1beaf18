/**
 * Names for resources: `save()`, `load()`, `list()`, `remove()`, `history()`. The registry layer
 * stores the records; this module turns resources into records and records back into resources.
 * The resource classes are imported lazily: they import this module themselves.
 */
import { type Address } from "../address.js";
import { parseAddress } from "../systems/addresses.js";
import { StowageError } from "../errors.js";
import {
  localRegistryPath,
  parseName,
  parsePrefix,
  registryFor,
  withSavedHost,
  type NameEntry,
  type RecordBody,
  type ResourceType,
  type SavedRecord,
} from "../registry/index.js";
import type { Blob } from "./blob.js";
import type { Cluster } from "./cluster.js";
import type { Folder } from "./folder.js";
import type { Table } from "./table/table.js";

export type { NameEntry } from "../registry/index.js";

/** What can be saved under a name. */
export interface Nameable {
  name: string | undefined;
  version: number | undefined;
  writePending(): Promise<void>;
  recordBody(): Promise<RecordBody>;
}

export interface SaveOptions {
  /** A note kept with this version (shown by `history()`). */
  note?: string;
}

export interface HistoryEntry {
  version: number;
  savedAt: Date;
  savedBy: string;
  type: ResourceType;
  /** Where that version's data lives (URL). */
  address: string;
  note?: string;
}

export type NamedResource = Table | Blob | Folder | Cluster;

function noName(what: string): StowageError {
  return new StowageError({
    code: "InvalidInput",
    operation: what,
    message: `the resource has no name: pass one to save("…") or give { name } to its constructor`,
  });
}

/**
 * Saves a new version: checks the name and reaches the registry first (so a bad name or an
 * unreachable registry writes nothing), then writes pending data, then the record.
 */
export async function saveResource(resource: Nameable, name: string | undefined, options: SaveOptions): Promise<number> {
  const chosen = name ?? resource.name;
  if (chosen === undefined) throw noName("save");
  const parsed = parseName(chosen, { allowVersion: false });
  if (options.note !== undefined && typeof options.note !== "string")
    throw new StowageError({ code: "InvalidInput", operation: "save", message: "note must be a string" });
  const store = registryFor(parsed.scope);
  await store.versions(parsed);
  await resource.writePending();
  const body = await resource.recordBody();
  const version = await store.save(parsed, options.note === undefined ? body : { ...body, note: options.note });
  resource.name = parsed.name;
  resource.version = version;
  return version;
}

export async function historyOf(resource: Nameable): Promise<HistoryEntry[]> {
  if (resource.name === undefined) throw noName("history");
  const parsed = parseName(resource.name, { allowVersion: false });
  const store = registryFor(parsed.scope);
  const versions = await store.versions(parsed);
  const records = await mapLimit(versions, 8, (version) => store.read(version));
  return versions.map((version, i) => {
    const record = records[i]!;
    return {
      version: version.version,
      savedAt: new Date(record.savedAt),
      savedBy: record.savedBy,
      type: record.type,
      address: record.url,
      ...(record.note !== undefined ? { note: record.note } : {}),
    };
  });
}

/** The resource saved under `name` (latest version, or `name@N`), ready to use. */
export async function load(name: string): Promise<NamedResource> {
  const parsed = parseName(name);
  const { version, record } = await registryFor(parsed.scope).resolve(parsed);
  const resource = await fromRecord(record);
  resource.version = version;
  return resource;
}

/** `load` that insists on one type, for `Table.fromName` and friends. */
export async function loadAs<T extends NamedResource>(name: string, type: ResourceType): Promise<T> {
  const resource = await load(name);
  const actual = typeOf(resource);
  if (actual !== type) {
    throw new StowageError({ code: "InvalidInput", operation: "load", path: name, message: `${name} is a ${actual}, not a ${type}` });
  }
  return resource as T;
}

function typeOf(resource: NamedResource): ResourceType {
  return (resource as unknown as { readonly resourceType: ResourceType }).resourceType;
}

async function fromRecord(record: SavedRecord): Promise<NamedResource> {
  const address = withSavedHost(parseAddress(record.address));
  switch (record.type) {
    case "table": {
      const { Table } = await import("./table/table.js");
      const partitionCols = record.options?.partitionCols as string[] | undefined;
      return new Table({ path: address, name: record.name, ...(partitionCols ? { partitionCols } : {}) });
    }
    case "blob": {
      const { Blob } = await import("./blob.js");
      return new Blob(address, undefined, undefined, { name: record.name });
    }
    case "folder": {
      const { Folder } = await import("./folder.js");
      return new Folder(address, undefined, { name: record.name });
    }
    case "cluster": {
      const { Cluster } = await import("./cluster.js");
      return new Cluster({
        host: address.host!,
        ...(address.user ? { user: address.user } : {}),
        ...(address.port ? { port: address.port } : {}),
        name: record.name,
      });
    }
  }
}

export interface ListOptions {
  /** Only names starting with this, below the scope: `list("~/", { prefix: "ds/" })`. */
  prefix?: string;
}

/** Names in a registry ("~/" local, the default; "@/" team), with type, latest version and data URL. */
export async function list(scope?: string, options: ListOptions = {}): Promise<NameEntry[]> {
  const { scope: which, under, startsWith } = parsePrefix(scope, options.prefix);
  return registryFor(which).list(under, startsWith);
}

export interface RemoveOptions {
  /** Also delete the data of every version (tables, blobs, folders; a cluster has none). */
  data?: boolean;
}

/** Removes a name and all its versions; with `{ data: true }` their data first. */
export async function remove(name: string, options: RemoveOptions = {}): Promise<void> {
  const parsed = parseName(name, { allowVersion: false });
  const store = registryFor(parsed.scope);
  if (options.data) {
    const versions = await store.versions(parsed);
    const seen = new Set<string>();
    for (const version of versions) {
      const record = await store.read(version);
      if (record.type === "cluster" || seen.has(record.url)) continue;
      seen.add(record.url);
      const resource = (await fromRecord(record)) as Table | Blob | Folder;
      await resource.rm();
    }
  }
  await store.remove(parsed);
}

/** The named resources (local registry, and the team's when configured) whose data lives at or below `address`. */
export async function resourcesBelow(address: Address): Promise<NameEntry[]> {
  const scopes: Array<"local" | "team"> = ["local"];
  try {
    registryFor("team");
    scopes.push("team");
  } catch {
    // No team registry configured: only local names can be below the folder.
  }
  const entries = (await Promise.all(scopes.map((scope) => registryFor(scope).list([], "")))).flat();
  return entries.filter((entry) => {
    let where: Address;
    try {
      where = parseAddress(entry.url);
    } catch {
      return false;
    }
    if (where.system !== address.system || where.host !== address.host || where.user !== address.user || where.port !== address.port) return false;
    const root = address.path === "/" ? "" : address.path;
    return where.path === address.path || where.path.startsWith(`${root}/`);
  });
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Where names are kept right now: the local registry's folder, and the team registry's URL when configured. */
export function registries(): { local: string; team: string | undefined } {
  let team: string | undefined;
  try {
    team = registryFor("team").url;
  } catch {
    team = undefined;
  }
  return { local: localRegistryPath(), team };
}
