/**
 * Turns what users pass as a place (a URL, a path, `{ system, path }`, a Cluster, a resource) into an
 * address, and picks default locations for resources created without a path. Every constructor's
 * place options are read here, the same way for Folder, Blob and Table: an option nobody knows, an
 * option the system has no use for, or a `system` the path's URL contradicts is `InvalidInput`.
 */
import { randomUUID } from "node:crypto";
import { type Address } from "../address.js";
import { descriptorOf, isSystemName, parseAddress, systemNameOf } from "../systems/addresses.js";
import type { AddressOption, ResourceKind } from "../systems/descriptor.js";
import type { CredentialsInput } from "../systems/catalog.js";
import { loadConfig } from "../systems/config.js";
import { Credentials } from "../credentials.js";
import { StowageError } from "../errors.js";
import { parseName, savedCluster, teamRegistryAddress, withSavedHost, type ParsedName } from "../registry/index.js";
import type { SystemName } from "../systems/contract.js";
import { Cluster } from "./cluster.js";

/** Anything with an address: Folder, Blob, Table. */
export interface Located {
  readonly address: Address;
}

/** What callers may pass as a place, besides the option objects below. */
export type Place = string | URL | Cluster | Located | PlaceInit;

/** Where a resource is, as options: a URL or path in `path`, or `system` with a path in it. */
export interface PlaceInit {
  /** A path on `system` (default: the local disk), or a URL such as "s3://bucket/key". */
  path?: string | URL;
  /** A system name ("s3", "ssh", ...), a saved cluster's name, or a Cluster. */
  system?: string | Cluster;
  /** ssh: host name or ~/.ssh/config alias. */
  host?: string;
  /** ssh: login name. */
  user?: string;
  /** ssh: port. */
  port?: number;
  /** azure: storage account. */
  account?: string;
  /** github: server base URL. */
  server?: string;
  /** Explicit credentials for this resource's system, used in memory and never saved. */
  credentials?: CredentialsInput | Credentials;
}

/** The options every resource constructor takes. */
export interface ResourceInit extends PlaceInit {
  /** The name `save()` records it under: "~/x" or "x" (local registry), "@/x" (team registry). */
  name?: string;
  /** Create the destination folder (or the blob's or table's parent) before the first write. */
  mkdir?: boolean;
}

export type { ResourceKind } from "../systems/descriptor.js";

const PLACE_OPTIONS = ["path", "system", "host", "user", "port", "account", "server", "credentials"] as const;
export const RESOURCE_OPTIONS: readonly string[] = [...PLACE_OPTIONS, "name", "mkdir"];

/** Whether `option` means something to `system`, as its descriptor declares. */
function appliesTo(option: AddressOption | "credentials", system: SystemName): boolean {
  const descriptor = descriptorOf(system);
  return option === "credentials" ? descriptor.credentials !== undefined : (descriptor.addressOptions ?? []).includes(option);
}

function invalid(message: string, path?: string): StowageError {
  return new StowageError({ code: "InvalidInput", message, ...(path === undefined ? {} : { path }) });
}

/** Refuses options `what` does not know, naming them. */
export function checkOptions(init: object, known: readonly string[], what: string): void {
  const unknown = Object.keys(init).filter((key) => !known.includes(key) && (init as Record<string, unknown>)[key] !== undefined);
  if (unknown.length > 0) {
    throw invalid(`${what} has no option ${unknown.map((key) => `"${key}"`).join(", ")}; it takes ${known.join(", ")}`);
  }
}

function isLocated(value: unknown): value is Located {
  return typeof value === "object" && value !== null && "address" in value && typeof (value as Located).address?.system === "string";
}

function hasScheme(path: string): boolean {
  return /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(path);
}

/** The default root for resources of `kind` on `system`, e.g. ~/.cache/stowage/blobs locally. */
export function defaultPath(system: SystemName, kind: ResourceKind, name: string = randomUUID()): string {
  return descriptorOf(system).defaultPath(kind, name, loadConfig());
}

/** A named resource's default path below a kind's root: "ds/bert" for ~/ds/bert, "@/ds/bert" for @/ds/bert. */
function nameSlug(name: ParsedName): string {
  return (name.scope === "team" ? ["@", ...name.segments] : name.segments).join("/");
}

/** A system given by name: a system, or a cluster saved in the local registry. */
function systemByName(name: string): { system: SystemName } | { cluster: Cluster } {
  if (isSystemName(name)) {
    return { system: systemNameOf(name) };
  }
  const saved = savedCluster(name);
  if (saved?.host)
    return { cluster: new Cluster({ host: saved.host, ...(saved.user ? { user: saved.user } : {}), ...(saved.port ? { port: saved.port } : {}) }) };
  return { system: systemNameOf(name) }; // throws InvalidInput naming the known systems
}

/**
 * The address of a resource from its constructor options. `kind` and `name` choose the default
 * location when there is no path: below the kind's root on the system, named after the resource.
 * A team name without a system or path keeps its data beside the team registry, where the team can
 * reach it.
 */
export function addressFromInit(init: ResourceInit, kind: ResourceKind): Address {
  const name = init.name === undefined ? undefined : parseName(init.name, { allowVersion: false });
  if (init.mkdir !== undefined && typeof init.mkdir !== "boolean") throw invalid("mkdir must be true or false");
  let address: Address;
  const path = init.path instanceof URL ? init.path.href : init.path;
  if (path !== undefined && typeof path !== "string") throw invalid("path must be a string or URL");
  const explicitFields = (["host", "user", "port", "account", "server"] as const).filter((field) => init[field] !== undefined);

  if (path !== undefined && hasScheme(path)) {
    address = parseAddress(path);
    if (init.system !== undefined) {
      const given = init.system instanceof Cluster ? undefined : systemByName(init.system);
      const givenSystem = given && "system" in given ? given.system : "ssh";
      if (givenSystem !== address.system) {
        throw invalid(
          `system "${init.system instanceof Cluster ? init.system.host : init.system}" contradicts the path's URL ${path} (a ${address.system} address)`,
          path,
        );
      }
    }
    for (const field of explicitFields) {
      const fromUrl = address[field];
      if (fromUrl !== undefined && fromUrl !== init[field]) throw invalid(`${field} "${init[field]}" contradicts the path's URL ${path}`, path);
      (address as unknown as Record<string, unknown>)[field] = init[field];
    }
  } else {
    const chosen = init.system instanceof Cluster ? { cluster: init.system } : init.system === undefined ? undefined : systemByName(init.system);
    if (chosen && "cluster" in chosen) {
      for (const field of explicitFields) {
        if (field === "host" || field === "user" || field === "port") throw invalid(`${field} cannot be given with a cluster as the system`);
      }
      address = chosen.cluster.address(path ?? defaultPath("ssh", kind, name ? nameSlug(name) : undefined));
    } else if (!chosen && path === undefined && name?.scope === "team") {
      const registry = teamRegistryAddress();
      address = { ...registry, path: `${registry.path === "/" ? "" : registry.path}/data/${kind}/${name.segments.join("/")}` };
    } else {
      const system = chosen?.system ?? (init.host !== undefined ? "ssh" : "file");
      const fields = Object.fromEntries(explicitFields.map((field) => [field, init[field]]));
      address = parseAddress({ ...fields, system, path: path ?? defaultPath(system, kind, name ? nameSlug(name) : undefined) });
    }
  }

  for (const field of [...explicitFields, ...(init.credentials === undefined ? [] : ["credentials" as const])]) {
    if (!appliesTo(field, address.system)) throw invalid(`option "${field}" does not apply to ${address.system} addresses`);
  }
  address = withSavedHost(address);
  if (init.credentials !== undefined) address.credentials = Credentials.for(address.system, descriptorOf(address.system).credentials, init.credentials);
  return address;
}

/**
 * Resolves a place given to `to()`, `copy()` and `sync()`. `path` (from options) overrides or
 * completes it: `to(cluster, { path })`, `to("s3", { path: "/bucket/x" })`. Without any path,
 * `kind` picks a default location named `name`.
 */
export function resolvePlace(place: Place | undefined, options: { path?: string | undefined; kind: ResourceKind; name?: string }): Address {
  if (place instanceof Cluster) {
    return place.address(options.path ?? defaultPath("ssh", options.kind, options.name));
  }
  if (isLocated(place)) {
    return options.path === undefined ? place.address : { ...place.address, path: parseAddress({ ...place.address, path: options.path }).path };
  }
  if (typeof place === "string" && options.path !== undefined && !hasScheme(place)) {
    // `to("s3", { path })`: a bare system (or saved cluster) name with the path beside it.
    return addressFromInit({ system: place, path: options.path }, options.kind);
  }
  if (typeof place === "string" || place instanceof URL) {
    const address = withSavedHost(parseAddress(place));
    return options.path === undefined ? address : parseAddress({ ...address, path: options.path });
  }
  const init = place ?? {};
  if (typeof init !== "object" || init === null) throw invalid(`not a place: ${String(init)}`);
  checkOptions(init, PLACE_OPTIONS, "a place");
  const completed = init.path === undefined && options.path !== undefined ? { ...init, path: options.path } : init;
  if (completed.path === undefined && options.name !== undefined) {
    // A default location named after the source, as before: "<kind root>/<source name>".
    const system = completed.system instanceof Cluster ? undefined : completed.system;
    if (completed.system instanceof Cluster) return completed.system.address(defaultPath("ssh", options.kind, options.name));
    const chosen = system === undefined ? undefined : systemByName(system);
    if (chosen && "cluster" in chosen) return chosen.cluster.address(defaultPath("ssh", options.kind, options.name));
    return addressFromInit({ ...completed, path: defaultPath(chosen?.system ?? (completed.host ? "ssh" : "file"), options.kind, options.name) }, options.kind);
  }
  return addressFromInit(completed, options.kind);
}
