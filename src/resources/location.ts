/**
 * Turns what users pass as a place (a URL, a path, `{ system, path }`, a Cluster, a resource) into an
 * address, and picks default locations for resources created without a path.
 */
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { parseAddress, systemNameOf, type Address, type AddressInput } from "../address.js";
import { cacheDir, loadConfig } from "../config.js";
import { StowageError } from "../errors.js";
import type { SystemName } from "../systems/contract.js";
import { Cluster } from "./cluster.js";

/** Anything with an address: Folder, Blob, Table. */
export interface Located {
  readonly address: Address;
}

export type Place = AddressInput | Cluster | Located;

/** Fields accepted beside `path` when a place is given as an object. */
export interface PlaceInit {
  path?: string;
  system?: string | Cluster;
  host?: string;
  user?: string;
  port?: number;
  account?: string;
  server?: string;
}

export type ResourceKind = "folders" | "blobs" | "tables";

function isLocated(value: unknown): value is Located {
  return typeof value === "object" && value !== null && "address" in value && typeof (value as Located).address?.system === "string";
}

/** The default root for resources of `kind` on `system`, e.g. ~/.cache/stowage/blobs locally. */
export function defaultPath(system: SystemName, kind: ResourceKind, name: string = randomUUID()): string {
  const config = loadConfig();
  switch (system) {
    case "file":
      return join(cacheDir(), kind, name);
    case "ssh":
      return `/~/.cache/stowage/${kind}/${name}`;
    case "s3":
    case "gs":
    case "azure": {
      const bucket = system === "azure" ? config.azure?.container : config[system]?.bucket;
      if (!bucket) {
        const variable = system === "azure" ? "STOWAGE_AZURE_CONTAINER" : `STOWAGE_${system.toUpperCase()}_BUCKET`;
        throw new StowageError({
          code: "InvalidInput",
          system,
          message: `no path given and no default ${system === "azure" ? "container" : "bucket"} for ${system}: pass a path or set ${variable}`,
        });
      }
      return `/${bucket}/stowage/${kind}/${name}`;
    }
    case "github":
      throw new StowageError({ code: "InvalidInput", system, message: "github is read-only: give the path of an existing resource" });
  }
}

/**
 * Resolves a place. `path` (from options) overrides or completes it: `to(cluster, { path })`,
 * `to("s3", { path: "/bucket/x" })`. Without any path, `kind` picks a default location.
 */
export function resolvePlace(place: Place | PlaceInit | undefined, options: { path?: string | undefined; kind: ResourceKind; name?: string }): Address {
  if (place instanceof Cluster) {
    return place.address(options.path ?? defaultPath("ssh", options.kind, options.name));
  }
  if (isLocated(place)) {
    return options.path === undefined ? place.address : { ...place.address, path: parseAddress({ ...place.address, path: options.path }).path };
  }
  if (place === undefined) place = {};
  if (typeof place === "string" && options.path !== undefined && !place.includes("://")) {
    // `to("s3", { path })`: a bare system name with the path beside it.
    return parseAddress({ system: systemNameOf(place), path: options.path });
  }
  if (typeof place === "string" || place instanceof URL) {
    const address = parseAddress(place);
    return options.path === undefined ? address : parseAddress({ ...address, path: options.path });
  }
  const init = place as PlaceInit;
  if (init.system instanceof Cluster) {
    return init.system.address(init.path ?? options.path ?? defaultPath("ssh", options.kind, options.name));
  }
  const system = systemNameOf(init.system ?? "file");
  const path = init.path ?? options.path ?? defaultPath(system, options.kind, options.name);
  const { system: _ignored, ...rest } = init;
  return parseAddress({ ...rest, system, path } as AddressInput);
}
