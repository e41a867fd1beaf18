/**
 * A small reader for OpenSSH client config files (`~/.ssh/config`), with OpenSSH's semantics for
 * the keywords Stowage uses: the first value obtained for a keyword wins, except `IdentityFile`,
 * which accumulates. `Host` lines take several patterns with `*`, `?` and `!negation`. `Include`
 * reads other files in place (see include.ts). `Match` blocks are skipped as a whole (their
 * conditions are not evaluated), and unknown keywords are ignored, so any valid config parses.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { resolve } from "node:path";
import { SshConfigError } from "./errors.js";
import { includedFiles, MAX_INCLUDE_DEPTH } from "./include.js";

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
  /** ProxyJump or ProxyCommand, whichever comes first (OpenSSH's rule); `none` disables both. */
  proxy?: ProxyDirective;
}

export type ProxyDirective =
  /** `[user@]host[:port]` hops (or `ssh://` URIs), the first one connected to first. */
  | { kind: "jump"; hops: string[] }
  /** The command as written, tokens not yet expanded. */
  | { kind: "command"; command: string }
  | { kind: "none" };

export type StrictHostKeyChecking = "yes" | "no" | "accept-new" | "ask";

interface Block {
  /**
   * Host pattern lists that must all match: the block's own Host line, and those of the blocks
   * holding the Include lines that read its file. Empty for lines before any Host line.
   */
  conditions: string[][];
  /** True for Match blocks, and everything included from one; they are skipped. */
  skip: boolean;
  options: Array<[keyword: string, args: string[]]>;
}

export interface ParseOptions {
  /** The local home directory: relative Include paths are under its .ssh, as for the user's config. */
  home?: string;
}

/** Reads and resolves `file` for `host`; a missing file gives an empty config. */
export function readHostConfig(file: string, host: string, options: ParseOptions = {}): HostConfig {
  const text = readConfigFile(file);
  if (text === undefined) return { identityFiles: [] };
  // An absolute name, so an Include of this very file is seen as a loop.
  return resolveHostConfig(parseSshConfig(text, resolve(file), options), host);
}

/** A file's text, or undefined when it is missing (or a directory, which a glob may match). */
function readConfigFile(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "EISDIR") return undefined;
    throw new SshConfigError(`cannot read ssh config ${file}`, { cause: error });
  }
}

export function parseSshConfig(text: string, file = "ssh config", options: ParseOptions = {}): Block[] {
  const blocks: Block[] = [];
  parseInto(blocks, text, [file], { conditions: [], skip: false }, options.home ?? homedir());
  return blocks;
}

/**
 * Appends `text`'s blocks to `blocks`, each also bound to `outer` (the block holding the Include
 * that read this file), so an included file applies only where its Include line would. `files` is
 * the chain of Includes that led here, this file last.
 */
function parseInto(blocks: Block[], text: string, files: readonly string[], outer: Omit<Block, "options">, home: string): void {
  const file = files.at(-1)!;
  const open = (conditions: string[][], skip: boolean) => {
    const block: Block = { conditions, skip, options: [] };
    blocks.push(block);
    return block;
  };
  let current = open(outer.conditions, outer.skip);
  text.split(/\r?\n/).forEach((rawLine, index) => {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#")) return;
    const match = /^(\S+?)(?:\s*=\s*|\s+)(.*)$/.exec(line);
    if (!match) return; // a keyword without arguments: OpenSSH rejects it, we ignore it
    const keyword = match[1]!.toLowerCase();
    const raw = match[2]!;
    const where = `${file}:${index + 1}`;
    // ProxyCommand is the rest of the line as the shell will see it, quotes and all.
    const args = keyword === "proxycommand" ? [raw] : splitArguments(raw, where);
    if (keyword === "host") current = open([...outer.conditions, args], outer.skip);
    else if (keyword === "match") current = open(outer.conditions, true);
    else if (keyword === "include") {
      for (const included of includedFiles(args, home)) {
        const includedText = readConfigFile(included);
        if (includedText === undefined) continue;
        // OpenSSH only stops at the depth limit; a file already in the chain can only loop, so
        // say so at once (a loop through a glob would otherwise branch at every level).
        if (files.includes(included)) {
          throw new SshConfigError(`${where}: Include loop: ${[...files, included].join(" includes ")}`);
        }
        if (files.length > MAX_INCLUDE_DEPTH) {
          throw new SshConfigError(`${where}: Includes nested more than ${MAX_INCLUDE_DEPTH} deep`);
        }
        parseInto(blocks, includedText, [...files, included], current, home);
      }
      // What follows the Include still belongs to the block that held it.
      current = open(current.conditions, current.skip);
    } else current.options.push([keyword, args]);
  });
}

/** Splits arguments on whitespace, keeping double-quoted strings together. */
function splitArguments(text: string, where: string): string[] {
  const args: string[] = [];
  const pattern = /"([^"]*)"|(\S+)/g;
  for (const match of text.matchAll(pattern)) args.push(match[1] ?? match[2]!);
  if ((text.match(/"/g)?.length ?? 0) % 2 !== 0) {
    throw new SshConfigError(`${where}: unbalanced quotes`);
  }
  return args;
}

export function resolveHostConfig(blocks: readonly Block[], host: string): HostConfig {
  const result: HostConfig = { identityFiles: [] };
  const seen = new Set<string>();
  for (const block of blocks) {
    if (block.skip) continue;
    if (!block.conditions.every((patterns) => hostMatches(host, patterns))) continue;
    for (const [keyword, args] of block.options) {
      const value = args[0];
      if (value === undefined) continue;
      if (keyword === "identityfile") {
        result.identityFiles.push(value);
        continue;
      }
      // ProxyJump and ProxyCommand share one slot: whichever comes first wins.
      const slot = keyword === "proxyjump" || keyword === "proxycommand" ? "proxy" : keyword;
      if (seen.has(slot)) continue;
      seen.add(slot);
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
    case "proxyjump":
      result.proxy = value.toLowerCase() === "none" ? { kind: "none" } : { kind: "jump", hops: value.split(",").filter((hop) => hop !== "") };
      break;
    case "proxycommand":
      result.proxy = value.toLowerCase() === "none" ? { kind: "none" } : { kind: "command", command: value };
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

/** The `%` tokens OpenSSH allows in IdentityFile and UserKnownHostsFile (besides `%%`). */
const PATH_TOKENS = "duhrpn";
/** The `%` tokens OpenSSH allows in ProxyCommand (besides `%%`). */
export const PROXY_COMMAND_TOKENS = "hnpr";

/** Expands a leading `~` and the `%` tokens OpenSSH allows in IdentityFile and UserKnownHostsFile. */
export function expandPath(value: string, tokens: TokenValues): string {
  const withHome = value === "~" ? tokens.home : value.startsWith("~/") ? tokens.home + value.slice(1) : value;
  return expandTokens(withHome, tokens, PATH_TOKENS);
}

/** Expands `%%` and the `allowed` tokens of `value`; any other token is an error, as in OpenSSH. */
export function expandTokens(value: string, tokens: TokenValues, allowed: string): string {
  return value.replace(/%(.)/g, (whole, token: string) => {
    if (token === "%") return "%";
    if (!allowed.includes(token)) throw new SshConfigError(`unknown token ${whole} in ssh config value "${value}"`);
    switch (token) {
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
      default: // "n"
        return tokens.alias;
    }
  });
}
