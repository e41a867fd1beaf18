/**
 * A small reader for OpenSSH client config files (`~/.ssh/config`), with OpenSSH's semantics for
 * the keywords Stowage uses: the first value obtained for a keyword wins, except `IdentityFile`,
 * which accumulates. `Host` lines take several patterns with `*`, `?` and `!negation`. `Match`
 * blocks are skipped as a whole (their conditions are not evaluated), and unknown keywords are
 * ignored, so any valid config parses.
 */
import { readFileSync } from "node:fs";
import { SshConfigError } from "./errors.js";

/** The settings one host alias resolves to, before defaults are applied. */
export interface HostConfig {
  hostName?: string;
  user?: string;
  port?: number;
  identityFiles: string[];
  identitiesOnly?: boolean;
  userKnownHostsFiles?: string[];
  strictHostKeyChecking?: StrictHostKeyChecking;
  identityAgent?: string;
}

export type StrictHostKeyChecking = "yes" | "no" | "accept-new" | "ask";

interface Block {
  /** Host patterns; undefined for the lines before the first Host line (they apply to every host). */
  patterns: string[] | undefined;
  /** True for Match blocks, which are skipped. */
  skip: boolean;
  options: Array<[keyword: string, args: string[]]>;
}

/** Reads and resolves `file` for `host`; a missing file gives an empty config. */
export function readHostConfig(file: string, host: string): HostConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { identityFiles: [] };
    throw new SshConfigError(`cannot read ssh config ${file}`, { cause: error });
  }
  return resolveHostConfig(parseSshConfig(text, file), host);
}

export function parseSshConfig(text: string, file = "ssh config"): Block[] {
  const blocks: Block[] = [{ patterns: undefined, skip: false, options: [] }];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const match = /^(\S+?)(?:\s*=\s*|\s+)(.*)$/.exec(line);
    if (!match) return; // a keyword without arguments: OpenSSH rejects it, we ignore it
    const keyword = match[1]!.toLowerCase();
    const args = splitArguments(match[2]!, file, index + 1);
    if (keyword === "host") blocks.push({ patterns: args, skip: false, options: [] });
    else if (keyword === "match") blocks.push({ patterns: undefined, skip: true, options: [] });
    else blocks.at(-1)!.options.push([keyword, args]);
  });
  return blocks;
}

/** Splits arguments on whitespace, keeping double-quoted strings together. */
function splitArguments(text: string, file: string, line: number): string[] {
  const args: string[] = [];
  const pattern = /"([^"]*)"|(\S+)/g;
  for (const match of text.matchAll(pattern)) args.push(match[1] ?? match[2]!);
  if ((text.match(/"/g)?.length ?? 0) % 2 !== 0) {
    throw new SshConfigError(`${file}:${line}: unbalanced quotes`);
  }
  return args;
}

export function resolveHostConfig(blocks: readonly Block[], host: string): HostConfig {
  const result: HostConfig = { identityFiles: [] };
  const seen = new Set<string>();
  for (const block of blocks) {
    if (block.skip) continue;
    if (block.patterns && !hostMatches(host, block.patterns)) continue;
    for (const [keyword, args] of block.options) {
      const value = args[0];
      if (value === undefined) continue;
      if (keyword === "identityfile") {
        result.identityFiles.push(value);
        continue;
      }
      if (seen.has(keyword)) continue;
      seen.add(keyword);
      apply(result, keyword, value, args);
    }
  }
  return result;
}

function apply(result: HostConfig, keyword: string, value: string, args: string[]): void {
  switch (keyword) {
    case "hostname":
      result.hostName = value;
      break;
    case "user":
      result.user = value;
      break;
    case "port": {
      const port = Number(value);
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new SshConfigError(`invalid Port "${value}" in ssh config`);
      }
      result.port = port;
      break;
    }
    case "identitiesonly":
      result.identitiesOnly = yesNo(value);
      break;
    case "userknownhostsfile":
      result.userKnownHostsFiles = args;
      break;
    case "stricthostkeychecking": {
      const v = value.toLowerCase();
      result.strictHostKeyChecking = v === "no" || v === "off" ? "no" : v === "accept-new" ? "accept-new" : v === "ask" ? "ask" : "yes";
      break;
    }
    case "identityagent":
      result.identityAgent = value;
      break;
  }
}

function yesNo(value: string): boolean {
  return /^(yes|true)$/i.test(value);
}

/** OpenSSH's Host matching: any positive pattern matches and no negated one does. */
export function hostMatches(host: string, patterns: readonly string[]): boolean {
  let matched = false;
  for (const pattern of patterns) {
    const negated = pattern.startsWith("!");
    if (!wildcardMatch(host, negated ? pattern.slice(1) : pattern)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** `*` and `?` wildcards, case-insensitive as OpenSSH compares host names. */
export function wildcardMatch(text: string, pattern: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${source}$`, "is").test(text);
}

export interface TokenValues {
  /** Local home directory (%d, and `~`). */
  home: string;
  /** Local user (%u). */
  localUser: string;
  /** Remote host name after HostName (%h). */
  hostName: string;
  /** Remote user (%r). */
  remoteUser: string;
  /** Remote port (%p). */
  port: number;
  /** The host as given, before HostName (%n). */
  alias: string;
}

/** Expands a leading `~` and the `%` tokens OpenSSH allows in IdentityFile and UserKnownHostsFile. */
export function expandPath(value: string, tokens: TokenValues): string {
  const withHome = value === "~" ? tokens.home : value.startsWith("~/") ? tokens.home + value.slice(1) : value;
  return withHome.replace(/%(.)/g, (whole, token: string) => {
    switch (token) {
      case "%":
        return "%";
      case "d":
        return tokens.home;
      case "u":
        return tokens.localUser;
      case "h":
        return tokens.hostName;
      case "r":
        return tokens.remoteUser;
      case "p":
        return String(tokens.port);
      case "n":
        return tokens.alias;
      default:
        throw new SshConfigError(`unknown token ${whole} in ssh config value "${value}"`);
    }
  });
}
