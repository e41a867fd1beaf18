/**
 * Addresses: where a resource lives. Parsed in this one place from URLs, plain local paths, or
 * `{ system, path }` objects, by the descriptor of the system a scheme names. The path of an object
 * store starts with its bucket: `{ system: "s3", path: "/ds/bert_preproc" }` is bucket "ds", prefix
 * "bert_preproc".
 *
 * Object-store keys are taken literally after `scheme://`: "#", "?", "%" and spaces are part of the
 * key, as in the AWS and gsutil CLIs. Only `file://` URLs are percent-decoded.
 */
import type { Address, AddressInput } from "../address.js";
import { StowageError } from "../errors.js";
import { DESCRIPTORS } from "./catalog.js";
import type { SystemDescriptor } from "./descriptor.js";
import { normalizePath } from "./paths.js";

const BY_SCHEME = new Map<string, SystemDescriptor>(DESCRIPTORS.flatMap((d) => [d.name, ...d.schemes].map((scheme) => [scheme, d] as const)));
const BY_NAME = new Map<string, SystemDescriptor>(DESCRIPTORS.map((d) => [d.name, d]));
const LOCAL = BY_NAME.get("file")!;

/** Every system's name, local disk first. */
export const SYSTEM_NAMES: readonly string[] = DESCRIPTORS.map((d) => d.name);

/** Whether `name` is a system's name or one of its schemes ("az", "sftp", "local", …). */
export function isSystemName(name: string): boolean {
  return BY_SCHEME.has(name.toLowerCase());
}

/** The descriptor of a system by its name. */
export function descriptorOf(system: string): SystemDescriptor {
  const descriptor = BY_NAME.get(system);
  if (!descriptor) throw new StowageError({ code: "InvalidInput", message: `unknown system "${system}"; known systems: ${SYSTEM_NAMES.join(", ")}` });
  return descriptor;
}

/** The system a name or scheme stands for ("az" → "azure"). */
export function systemNameOf(name: string): string {
  const descriptor = BY_SCHEME.get(name.toLowerCase());
  if (!descriptor) {
    const aliases = [...BY_SCHEME.keys()].filter((scheme) => !BY_NAME.has(scheme));
    throw new StowageError({
      code: "InvalidInput",
      message: `unknown system "${name}"; known systems: ${SYSTEM_NAMES.join(", ")} (aliases: ${aliases.join(", ")})`,
    });
  }
  return descriptor.name;
}

export function parseAddress(input: AddressInput, cwd: string = process.cwd()): Address {
  if (input instanceof URL) return parseUrl(input.href, cwd);
  if (typeof input === "string") return parseUrl(input, cwd);
  if (typeof input !== "object" || input === null || typeof input.system !== "string") {
    throw new StowageError({ code: "InvalidInput", message: `not an address: ${String(input)}` });
  }
  const descriptor = descriptorOf(systemNameOf(input.system));
  const path = input.path ?? "/";
  if (descriptor === LOCAL && typeof path === "string") refuseMalformedUrl(path);
  const address: Address = { ...input, system: descriptor.name, path: descriptor === LOCAL ? path : normalizePath(path) };
  return descriptor.normalize(address, cwd);
}

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(.*)$/s;

function parseUrl(text: string, cwd: string): Address {
  if (text === "") throw new StowageError({ code: "InvalidInput", message: "an address may not be empty" });
  const match = SCHEME.exec(text);
  if (!match) {
    refuseMalformedUrl(text);
    return LOCAL.normalize({ system: LOCAL.name, path: text }, cwd);
  }
  const scheme = match[1]!.toLowerCase();
  if (scheme === "https" || scheme === "http") return parseWebUrl(text);
  const descriptor = descriptorOf(systemNameOf(scheme));
  return descriptor.parseUrl(match[2]!, { text, scheme, cwd });
}

/** An http(s) URL is read by the system that claims it (GitHub for github.com). */
function parseWebUrl(text: string): Address {
  const url = new URL(text);
  for (const descriptor of DESCRIPTORS) {
    const address = descriptor.parseWebUrl?.(url);
    if (address) return address;
  }
  throw new StowageError({
    code: "InvalidInput",
    message: `"${text}" is not a storage address; http(s) URLs are read only from github.com or GITHUB_SERVER_URL`,
  });
}

const ALMOST_URL = /^([a-zA-Z][a-zA-Z0-9+.-]*):(\/?)(?!\/)/;

/**
 * "s3:/bucket/x" or "gs:bucket" is a mistyped URL, not a local directory named "s3:": taking it as
 * one would write the data where nobody looks for it.
 */
function refuseMalformedUrl(text: string): void {
  const match = ALMOST_URL.exec(text);
  if (!match) return;
  const scheme = match[1]!.toLowerCase();
  if (!BY_SCHEME.has(scheme) && scheme !== "http" && scheme !== "https") return;
  throw new StowageError({
    code: "InvalidInput",
    message: `"${text}" is not a valid address: a URL needs "${scheme}://" (two slashes); write ./${text} for a local path`,
  });
}

/** The canonical URL of an address, e.g. "s3://bucket/key" or "ssh://me@host:2222/data". */
export function formatAddress(address: Address): string {
  return descriptorOf(address.system).format(address);
}

/** The part of an address that selects a connection; the path is not part of it. */
export function connectionKey(address: Address): string {
  const base = descriptorOf(address.system).connectionKey(address);
  return address.credentials ? `${base}#${address.credentials.key}` : base;
}
