/**
 * Addresses: where a resource lives. Parsed in this one place from URLs, plain local paths, or
 * `{ system, path }` objects. The path of an object store starts with its bucket:
 * `{ system: "s3", path: "/ds/bert_preproc" }` is bucket "ds", prefix "bert_preproc".
 *
 * Object-store keys are taken literally after `scheme://`: "#", "?", "%" and spaces are part of the
 * key, as in the AWS and gsutil CLIs. Only `file://` URLs are percent-decoded.
 */
import { homedir } from "node:os";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Credentials } from "./credentials.js";
import { StowageError } from "./errors.js";
import { normalizePath } from "./systems/paths.js";
import { SYSTEM_NAMES, type SystemName } from "./systems/contract.js";

export interface Address {
  system: SystemName;
  /** Absolute path within the system (see systems/contract.ts). */
  path: string;
  /** ssh: host name or ~/.ssh/config alias. */
  host?: string;
  /** ssh: login name. */
  user?: string;
  /** ssh: port. */
  port?: number;
  /** azure: storage account, when not taken from the environment. */
  account?: string;
  /** github: server base URL, e.g. "https://github.example.com". */
  server?: string;
  /** Explicit credentials, in memory only (see credentials.ts): never formatted, printed or saved. */
  credentials?: Credentials;
}

/** What callers may pass wherever an address is expected. */
export type AddressInput = string | URL | (Partial<Omit<Address, "system">> & { system: string });

const SCHEME_ALIASES: Record<string, SystemName> = {
  file: "file",
  local: "file",
  ssh: "ssh",
  sftp: "ssh",
  s3: "s3",
  gs: "gs",
  gcs: "gs",
  az: "azure",
  azure: "azure",
  github: "github",
};

export function systemNameOf(name: string): SystemName {
  const system = SCHEME_ALIASES[name.toLowerCase()];
  if (!system) {
    throw new StowageError({
      code: "InvalidInput",
      message: `unknown system "${name}"; known systems: ${SYSTEM_NAMES.join(", ")} (aliases: ${Object.keys(SCHEME_ALIASES).join(", ")})`,
    });
  }
  return system;
}

export function parseAddress(input: AddressInput, cwd: string = process.cwd()): Address {
  if (input instanceof URL) return parseUrl(input.href, cwd);
  if (typeof input === "string") return parseUrl(input, cwd);
  if (typeof input !== "object" || input === null || typeof input.system !== "string") {
    throw new StowageError({ code: "InvalidInput", message: `not an address: ${String(input)}` });
  }
  const system = systemNameOf(input.system);
  const path = input.path ?? "/";
  if (system === "file" && typeof path === "string") refuseMalformedUrl(path);
  const address: Address = {
    ...input,
    system,
    path: system === "file" ? normalizePath(resolveLocal(path, cwd)) : normalizePath(path),
  };
  if (system === "ssh" && !address.host) {
    throw new StowageError({ code: "InvalidInput", message: "an ssh address needs a host" });
  }
  return address;
}

function resolveLocal(path: string, cwd: string): string {
  if (path === "~") return homedir();
  if (path.startsWith("~/")) return resolve(homedir(), path.slice(2));
  return resolve(cwd, path);
}

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(.*)$/s;

function parseUrl(text: string, cwd: string): Address {
  if (text === "") throw new StowageError({ code: "InvalidInput", message: "an address may not be empty" });
  const match = SCHEME.exec(text);
  if (!match) {
    refuseMalformedUrl(text);
    return { system: "file", path: normalizePath(resolveLocal(text, cwd)) };
  }
  const scheme = match[1]!.toLowerCase();
  const rest = match[2]!;
  if (scheme === "https" || scheme === "http") return parseGithubWebUrl(text);
  const system = systemNameOf(scheme);
  switch (system) {
    case "file":
      return { system, path: normalizePath(fileURLToPath(text)) };
    case "ssh":
      return parseSshUrl(rest, text);
    case "github":
      return { system, path: normalizePath(rest) };
    default: {
      const path = normalizePath(rest);
      if (path === "/") {
        const what = system === "azure" ? "container" : "bucket";
        throw new StowageError({ code: "InvalidInput", system, message: `"${text}" names no ${what}: write ${scheme}://<${what}>/<key>` });
      }
      return { system, path };
    }
  }
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
  if (!(scheme in SCHEME_ALIASES) && scheme !== "http" && scheme !== "https") return;
  throw new StowageError({
    code: "InvalidInput",
    message: `"${text}" is not a valid address: a URL needs "${scheme}://" (two slashes); write ./${text} for a local path`,
  });
}

/** ssh://[user@]host[:port]/path; "/~/x" (or "~/x") is relative to the login directory. */
function parseSshUrl(rest: string, text: string): Address {
  const slash = rest.indexOf("/");
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? "/" : rest.slice(slash);
  const at = authority.lastIndexOf("@");
  const user = at >= 0 ? decodeURIComponent(authority.slice(0, at)) : undefined;
  const hostPort = at >= 0 ? authority.slice(at + 1) : authority;
  const portMatch = /^(.*?)(?::(\d+))?$/.exec(hostPort)!;
  const host = portMatch[1]!.replace(/^\[(.*)\]$/, "$1");
  if (!host) throw new StowageError({ code: "InvalidInput", message: `no host in ssh address "${text}"` });
  const address: Address = { system: "ssh", host, path: normalizePath(path) };
  if (user) address.user = user;
  if (portMatch[2]) address.port = Number(portMatch[2]);
  return address;
}

/**
 * https://github.com/owner/repo[/tree/<ref>/<path>] → github. Other https hosts count as GitHub only
 * when named by GITHUB_SERVER_URL (GitHub Enterprise).
 */
function parseGithubWebUrl(text: string): Address {
  const url = new URL(text);
  const server = `${url.protocol}//${url.host}`;
  const enterprise = process.env.GITHUB_SERVER_URL?.replace(/\/+$/, "");
  if (url.host !== "github.com" && server !== enterprise) {
    throw new StowageError({
      code: "InvalidInput",
      message: `"${text}" is not a storage address; http(s) URLs are read only from github.com or GITHUB_SERVER_URL`,
    });
  }
  const [owner, repo, kind, ...rest] = decodeURIComponent(url.pathname).split("/").filter(Boolean);
  if (!owner || !repo) throw new StowageError({ code: "InvalidInput", message: `no owner/repo in "${text}"` });
  const name = repo.replace(/\.git$/, "");
  // In /tree/<ref>/<path> a ref may itself hold "/"; the github system resolves it against the refs.
  const tail = (kind === "tree" || kind === "blob") && rest.length > 0 ? `@${rest.join("/")}` : "";
  const address: Address = { system: "github", path: normalizePath(`/${owner}/${name}${tail}`) };
  if (url.host !== "github.com") address.server = server;
  return address;
}

/** The canonical URL of an address, e.g. "s3://bucket/key" or "ssh://me@host:2222/data". */
export function formatAddress(address: Address): string {
  switch (address.system) {
    case "file":
      return address.path;
    case "ssh": {
      const user = address.user ? `${encodeURIComponent(address.user)}@` : "";
      const host = address.host?.includes(":") ? `[${address.host}]` : address.host;
      const port = address.port ? `:${address.port}` : "";
      return `ssh://${user}${host}${port}${address.path}`;
    }
    case "azure":
      return `az://${address.path.slice(1)}`;
    default:
      return `${address.system}://${address.path.slice(1)}`;
  }
}
