/**
 * Where the registries are: the local one under Stowage's data directory (no server, works offline),
 * the team one in the folder `STOWAGE_TEAM_REGISTRY` (or config `registry.team`) names, on any
 * system. Resources record and find names through this layer; it knows nothing of them.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Address } from "../address.js";
import { parseAddress } from "../systems/addresses.js";
import { dataDir } from "../config.js";
import { loadConfig } from "../systems/config.js";
import { StowageError } from "../errors.js";
import { systems } from "../systems/registry.js";
import { parseName, type Scope } from "./names.js";
import { compareVersions, parseRecord, parseVersionKey, type SavedAddress } from "./record.js";
import { RegistryStore } from "./store.js";

export { formatName, parseName, parsePrefix, MAX_NAME_LENGTH, type ParsedName, type Scope } from "./names.js";
export { savedAddress, type ResourceType, type SavedAddress, type SavedField, type SavedRecord } from "./record.js";
export { RegistryStore, type NameEntry, type RecordBody, type StoredVersion } from "./store.js";

/** The local registry's folder: `<data dir>/registry`. */
export function localRegistryPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(dataDir(env), "registry");
}

/** The team registry's address, from `STOWAGE_TEAM_REGISTRY` or config `registry.team`. */
export function teamRegistryAddress(): Address {
  const url = loadConfig().registry?.team;
  if (!url) {
    throw new StowageError({
      code: "InvalidInput",
      operation: "registry",
      message:
        "no team registry is configured for @/ names: set STOWAGE_TEAM_REGISTRY (or registry.team in the config file) to a folder URL, e.g. s3://team-bucket/stowage-registry",
    });
  }
  return withSavedHost(parseAddress(url));
}

const stores = new Map<string, RegistryStore>();

/** The registry of a scope, as configured right now. */
export function registryFor(scope: Scope): RegistryStore {
  const address: Address = scope === "local" ? parseAddress({ system: "file", path: localRegistryPath() }) : teamRegistryAddress();
  const id = `${scope} ${JSON.stringify(address)}`;
  let store = stores.get(id);
  if (!store) {
    store = new RegistryStore(scope, address, () => systems.open(address));
    stores.set(id, store);
  }
  return store;
}

/**
 * The address of a cluster saved in the local registry under `name`, read synchronously (it is on
 * the local disk) so constructors can take a saved cluster as a system. Undefined when there is none.
 */
export function savedCluster(name: string): SavedAddress | undefined {
  let parsed;
  try {
    parsed = parseName(name, { allowVersion: false });
  } catch {
    return undefined;
  }
  if (parsed.scope !== "local") return undefined;
  const dir = join(localRegistryPath(), "names", ...parsed.segments, "@v");
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return undefined;
  }
  const latest = files
    .flatMap((file) => parseVersionKey(file) ?? [])
    .sort(compareVersions)
    .at(-1);
  if (!latest || latest.type !== "cluster") return undefined;
  const record = parseRecord(readFileSync(join(dir, latest.key)), join(dir, latest.key));
  return record.address;
}

/**
 * `ssh://gpu-box/data` where "gpu-box" is a saved cluster: the cluster's host, user and port. An
 * address that names its own user or port, or a host nobody saved, stays as it is.
 */
export function withSavedHost(address: Address): Address {
  if (address.system !== "ssh" || !address.host || address.user !== undefined || address.port !== undefined) return address;
  const saved = savedCluster(address.host);
  if (!saved?.host) return address;
  const resolved: Address = { ...address, host: saved.host };
  if (saved.user) resolved.user = saved.user;
  if (saved.port) resolved.port = saved.port;
  return resolved;
}
