/**
 * One registry: a folder on any system holding `names/<segments>/@v/<version key>` objects (see
 * record.ts). Loading a name lists its `@v` folder and reads one object: two round trips on an
 * object store. Listing names is one recursive listing of `names/`.
 */
import { hostname, userInfo } from "node:os";
import { type Address } from "../address.js";
import { formatAddress } from "../systems/addresses.js";
import { StowageError, isStowageError } from "../errors.js";
import { readAll } from "../systems/body.js";
import type { System } from "../systems/contract.js";
import { writable } from "../systems/extensions.js";
import { formatName, type ParsedName, type Scope } from "./names.js";
import { RECORD_FORMAT, compareVersions, parseRecord, parseVersionKey, versionKey, type ResourceType, type SavedRecord, type VersionKey } from "./record.js";

export interface StoredVersion {
  version: number;
  key: VersionKey;
  /** The object's path in the registry's system. */
  path: string;
}

export interface NameEntry {
  name: string;
  type: ResourceType;
  /** The latest version's number, which is also how many versions there are. */
  version: number;
  /** Where the latest version's data lives. */
  url: string;
  savedAt: Date;
}

/** What a resource contributes to its record; the registry adds the rest. */
export type RecordBody = Pick<SavedRecord, "type" | "address" | "url"> & Partial<Pick<SavedRecord, "options" | "table" | "note">>;

/** Codes that mean the registry itself could not be reached (not that the name is wrong). */
const UNREACHABLE = new Set(["Unavailable", "Timeout", "Unexpected", "RateLimited"]);

export class RegistryStore {
  readonly scope: Scope;
  /** The registry folder's URL, named in every error. */
  readonly url: string;
  readonly #root: string;
  readonly #open: () => Promise<System>;

  constructor(scope: Scope, address: Address, open: () => Promise<System>) {
    this.scope = scope;
    this.url = formatAddress(address);
    this.#root = address.path === "/" ? "" : address.path;
    this.#open = open;
  }

  #versionsDir(segments: readonly string[]): string {
    return `${this.#root}/names/${segments.join("/")}/@v`;
  }

  /** Runs `fn` on the registry's system; a failure to reach it is `Unavailable` naming the registry. */
  async #use<T>(operation: string, fn: (system: System) => Promise<T>): Promise<T> {
    try {
      return await fn(await this.#open());
    } catch (error) {
      if (isStowageError(error) && !UNREACHABLE.has(error.code)) throw error;
      throw new StowageError({
        code: "Unavailable",
        operation,
        path: this.url,
        message: `the ${this.scope} registry at ${this.url} cannot be reached${error instanceof Error ? `: ${error.message}` : ""}`,
        cause: error,
      });
    }
  }

  /** Every version of a name, oldest first, numbered from 1 in key order. */
  versions(name: ParsedName): Promise<StoredVersion[]> {
    return this.#use("versions", async (system) => {
      const dir = this.#versionsDir(name.segments);
      const keys: VersionKey[] = [];
      for await (const entry of system.list(dir)) {
        if (entry.type !== "file") continue;
        const key = parseVersionKey(entry.path.slice(entry.path.lastIndexOf("/") + 1));
        if (key) keys.push(key);
      }
      keys.sort(compareVersions);
      return keys.map((key, index) => ({ version: index + 1, key, path: `${dir}/${key.key}` }));
    });
  }

  /** The version asked for (latest unless `name@N`): one listing and one read. */
  async resolve(name: ParsedName): Promise<{ version: number; record: SavedRecord }> {
    const versions = await this.versions(name);
    const label = name.version === undefined ? name.name : `${name.name}@${name.version}`;
    const chosen = name.version === undefined ? versions.at(-1) : versions[name.version - 1];
    if (!chosen) {
      const why = versions.length === 0 ? `no resource is saved as ${name.name}` : `${name.name} has ${versions.length} version(s), not ${name.version}`;
      throw new StowageError({ code: "NotFound", operation: "load", path: label, message: `${why} in the ${this.scope} registry at ${this.url}` });
    }
    return { version: chosen.version, record: await this.read(chosen) };
  }

  async read(version: StoredVersion): Promise<SavedRecord> {
    const bytes = await this.#use("read", async (system) => readAll(await system.read(version.path)));
    return parseRecord(bytes, `${this.url}${version.path.slice(this.#root.length)}`);
  }

  /**
   * Writes a new version of `name`: claims one more than the highest version seen and writes its own
   * object, which no other saver's key can equal. Returns the version number it holds now.
   */
  async save(name: ParsedName, body: RecordBody): Promise<number> {
    const before = await this.versions(name);
    const claim = (before.reduce((max, v) => Math.max(max, v.key.claim), 0) || 0) + 1;
    const savedAt = Date.now();
    const key = versionKey(claim, body.type, body.url, savedAt);
    const record: SavedRecord = {
      format: RECORD_FORMAT,
      name: name.name,
      type: body.type,
      address: body.address,
      url: body.url,
      savedAt: new Date(savedAt).toISOString(),
      savedBy: savedBy(),
      ...(body.options && Object.keys(body.options).length > 0 ? { options: body.options } : {}),
      ...(body.table ? { table: body.table } : {}),
      ...(body.note !== undefined ? { note: body.note } : {}),
    };
    const path = `${this.#versionsDir(name.segments)}/${key}`;
    await this.#use("save", async (readable) => {
      const system = writable(readable, "save", this.url);
      await system.mkdir(this.#versionsDir(name.segments));
      await system.write(path, `${JSON.stringify(record, null, 2)}\n`, { overwrite: false, contentType: "application/json" });
    });
    const after = await this.versions(name);
    return after.find((v) => v.key.key === key)?.version ?? after.length;
  }

  /** Removes every version of a name; NotFound when it has none. */
  async remove(name: ParsedName): Promise<StoredVersion[]> {
    const versions = await this.versions(name);
    if (versions.length === 0) {
      throw new StowageError({
        code: "NotFound",
        operation: "remove",
        path: name.name,
        message: `no resource is saved as ${name.name} in the ${this.scope} registry at ${this.url}`,
      });
    }
    await this.#use("remove", (system) => writable(system, "remove", this.url).delete([this.#versionsDir(name.segments)], { recursive: true }));
    return versions;
  }

  /** Names below `under` (complete segments) starting with `startsWith`, with their latest version. */
  list(under: readonly string[], startsWith: string): Promise<NameEntry[]> {
    return this.#use("list", async (system) => {
      const namesRoot = `${this.#root}/names`;
      const dir = under.length === 0 ? namesRoot : `${namesRoot}/${under.join("/")}`;
      const byName = new Map<string, { segments: string[]; keys: VersionKey[] }>();
      for await (const entry of system.list(dir, { recursive: true })) {
        const parts = entry.path.slice(namesRoot.length + 1).split("/");
        if (parts.length < 3 || parts.at(-2) !== "@v") continue;
        const key = parseVersionKey(parts.at(-1)!);
        if (!key) continue;
        const segments = parts.slice(0, -2);
        const id = segments.join("/");
        const group = byName.get(id) ?? { segments, keys: [] };
        group.keys.push(key);
        byName.set(id, group);
      }
      const entries = await Promise.all(
        [...byName.values()].map(async ({ segments, keys }) => {
          keys.sort(compareVersions);
          const latest = keys.at(-1)!;
          const name = formatName(this.scope, segments);
          // The key holds the URL unless it was too long for one; then the record says it.
          const url = latest.url ?? (await this.read({ version: keys.length, key: latest, path: `${namesRoot}/${segments.join("/")}/@v/${latest.key}` })).url;
          return { name, type: latest.type, version: keys.length, url, savedAt: new Date(latest.savedAtMs) };
        }),
      );
      return entries.filter((entry) => entry.name.startsWith(startsWith)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    });
  }
}

function savedBy(): string {
  let user = process.env.USER ?? "unknown";
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (some containers): the environment's USER stands in.
  }
  return `${user}@${hostname()}`;
}
