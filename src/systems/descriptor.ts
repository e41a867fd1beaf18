/**
 * What a system tells the rest of Stowage about itself, exported by its folder's `index.ts`: its
 * URL schemes, how its addresses are parsed and written, its config keys, where resources without a
 * path go, and how to connect (its implementation, and with it its SDK, is imported only then). The
 * address parser, config and the registry of systems read descriptors, so a new system is one new
 * folder (and a line in the generated `catalog.ts`).
 */
import type { Address } from "../address.js";
import type { ConfigKey, StowageConfig } from "../config.js";
import type { CredentialFields } from "../credentials.js";
import type { System } from "./contract.js";
import type { SetupContext, SetupFound } from "./sources.js";

export type SystemFactory = (address: Address, config: StowageConfig) => System | Promise<System>;

/** Address fields a place may give as options beside its path. */
export type AddressOption = "host" | "user" | "port" | "account" | "server";

/** The kinds of resources that get a default place when created without a path. */
export type ResourceKind = "blobs" | "folders" | "tables";

export interface UrlContext {
  /** The whole text, for errors. */
  readonly text: string;
  /** The scheme as written, lower-cased ("sftp", "az"). */
  readonly scheme: string;
  /** What relative local paths resolve against. */
  readonly cwd: string;
}

export interface SystemDescriptor {
  readonly name: string;
  /** URL schemes, the canonical one (what `format` writes) first; `{ system }` also takes these. */
  readonly schemes: readonly string[];
  /** The provider packages it needs, named in the error when they cannot be loaded. */
  readonly packages: readonly string[];
  /** The fields of the `credentials` option it takes; absent: it takes none (its provider chain only). */
  readonly credentials?: CredentialFields;
  /** The address options besides `path` that mean something to it ("host", "account"). */
  readonly addressOptions?: readonly AddressOption[];
  /** Its section of the config file, keyed as in the file. */
  readonly config?: Readonly<Record<string, ConfigKey>>;
  /** Imports the implementation; called on the first address of this system opened. */
  load(): Promise<SystemFactory>;
  /** The address for `<scheme>://<rest>`. */
  parseUrl(rest: string, context: UrlContext): Address;
  /** Checks and completes an address given as `{ system, path, … }` (path already a string). */
  normalize(address: Address, cwd: string): Address;
  /** The canonical URL of one of its addresses. */
  format(address: Address): string;
  /** The part of an address that selects a connection (one SSH session per host, one client per account). */
  connectionKey(address: Address): string;
  /** Web URLs it reads (https://github.com/…); undefined when the URL is not one of its. */
  parseWebUrl?(url: URL): Address | undefined;
  /** Where it would find credentials and settings on this machine (names, never values), and a place worth probing. */
  setup?(context: SetupContext): SetupFound;
  /** Usable with nothing configured (local disk, public repositories). */
  readonly needsNoSetup?: boolean;
  /** Where a resource of `kind` without a path goes; throws InvalidInput where there is no default. */
  defaultPath(kind: ResourceKind, name: string, config: StowageConfig): string;
}

/** A system's own config section, typed by the system that reads it. */
export function sectionOf<T>(config: StowageConfig, name: string): Partial<T> {
  return (config[name] ?? {}) as Partial<T>;
}
