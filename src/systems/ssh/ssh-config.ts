/**
 * A small reader for OpenSSH client config files (`~/.ssh/config`), with OpenSSH's semantics for
 * the keywords Stowage uses: the first value obtained for a keyword wins, except `IdentityFile`,
 * which accumulates. `Host` lines take several patterns with `*`, `?` and `!negation`. `Include`
 * reads other files in place (see include.ts). `Match` blocks apply when their criteria hold where
 * they are reached (see match.ts). Unknown keywords are ignored, so any valid config parses.
 */
import { readFileSync } from "node:fs";
import { homedir, userInfo } from "node:os";
import { resolve } from "node:path";
import { SshConfigError } from "./errors.js";
import { includedFiles, MAX_INCLUDE_DEPTH } from "./include.js";
import { evaluateMatch, parseMatch, type MatchCriterion, type MatchTarget } from "./match.js";
import { hostMatches } from "./patterns.js";

export { hostMatches, wildcardMatch } from "./patterns.js";

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

/** A Host line's pattern list, or a Match line's criteria (one object, judged once per pass). */
type Condition = { kind: "host"; patterns: string[] } | { kind: "match"; criteria: MatchCriterion[]; where: string };

interface Block {
  /**
   * Conditions that must all hold: the block's own Host or Match line, and those of the blocks
   * holding the Include lines that read its file. Empty for lines before any Host or Match line.
   */
  conditions: Condition[];
  options: Array<[keyword: string, args: string[]]>;
}

export interface ParseOptions {
  /** The local home directory: relative Include paths are under its .ssh, as for the user's config. */
  home?: string;
}

/** What `Match` criteria see besides the config itself. */
export interface ResolveOptions {
  /** The user the address names: as ssh's `-l` or `user@`, `Match user` sees it before any User line. */
  user?: string | undefined;
  /** The port the address names (%p of `Match exec`). */
  port?: number | undefined;
  /** The local user (`Match localuser`, %u); by default the user running this process. */
  localUser?: string;
  /** The local home directory (%d); by default the user's. */
  home?: string;
  /** How long a `Match exec` command may run (match.ts). */
  execTimeoutMs?: number;
}

/** Reads and resolves `file` for `host`; a missing file gives an empty config. */
export function readHostConfig(file: string, host: string, options: ParseOptions & ResolveOptions = {}): HostConfig {
  const text = readConfigFile(file);
  if (text === undefined) return { identityFiles: [] };
  // An absolute name, so an Include of this very file is seen as a loop.
  return resolveHostConfig(parseSshConfig(text, resolve(file), options), host, options);
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
  parseInto(blocks, text, [file], { conditions: [] }, options.home ?? homedir());
  return blocks;
}

/**
 * Appends `text`'s blocks to `blocks`, each also bound to `outer` (the block holding the Include
 * that read this file), so an included file applies only where its Include line would. `files` is
 * the chain of Includes that led here, this file last.
 */
function parseInto(blocks: Block[], text: string, files: readonly string[], outer: Omit<Block, "options">, home: string): void {
  const file = files.at(-1)!;
  const open = (conditions: Condition[]) => {
    const block: Block = { conditions, options: [] };
    blocks.push(block);
    return block;
  };
  let current = open(outer.conditions);
  text.split(/\r?\n/).forEach((rawLine, index) => {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#")) return;
    const match = /^(\S+?)(?:\s*=\s*|\s+)(.*)$/.exec(line);
    // A keyword without arguments: OpenSSH rejects it. We ignore it, but for a Match line, whose
    // block would otherwise run on under the conditions before it.
    if (!match && /^match$/i.test(line)) throw new SshConfigError(`${file}:${index + 1}: Match needs at least one criterion`);
    if (!match) return;
    const keyword = match[1]!.toLowerCase();
    const raw = match[2]!;
    const where = `${file}:${index + 1}`;
    // ProxyCommand is the rest of the line as the shell will see it, quotes and all.
    const args = keyword === "proxycommand" ? [raw] : splitArguments(raw, where);
    if (keyword === "host") current = open([...outer.conditions, { kind: "host", patterns: args }]);
    else if (keyword === "match") current = open([...outer.conditions, { kind: "match", criteria: parseMatch(args, where), where }]);
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
      current = open(current.conditions);
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

/**
 * The settings for `host`: the blocks read in file order, the first value obtained for a keyword
 * kept. A `Match final` anywhere asks for a second pass, as in OpenSSH: the values of the first
 * stay, Host lines are matched against the host name the first pass arrived at, and `final` and
 * `canonical` criteria hold.
 */
export function resolveHostConfig(blocks: readonly Block[], host: string, options: ResolveOptions = {}): HostConfig {
  const result: HostConfig = { identityFiles: [] };
  const seen = new Set<string>();
  if (applyBlocks(blocks, host, result, seen, options, false)) applyBlocks(blocks, host, result, seen, options, true);
  return result;
}

/** One pass over the blocks; answers whether a Match line asked for a final pass. */
function applyBlocks(blocks: readonly Block[], host: string, result: HostConfig, seen: Set<string>, options: ResolveOptions, finalPass: boolean): boolean {
  let wantsFinalPass = false;
  // A Match line is judged once per pass, where it is first reached: the blocks an Include
  // inside it read share its verdict (and its `exec` command runs once).
  const verdicts = new Map<Condition, boolean>();
  // HostName as obtained so far, with %h (as OpenSSH's match_cfg_line and ssh.c expand it).
  const hostNameSoFar = () => (result.hostName === undefined ? host : result.hostName.replace(/%h/g, host).replace(/%%/g, "%"));
  // The final pass matches Host lines against the host name the first arrived at.
  const hostLineSubject = finalPass ? hostNameSoFar().toLowerCase() : host;
  const holds = (condition: Condition): boolean => {
    if (condition.kind === "host") return hostMatches(hostLineSubject, condition.patterns);
    let verdict = verdicts.get(condition);
    if (verdict === undefined) {
      const outcome = evaluateMatch(condition.criteria, matchTarget(host, hostNameSoFar(), result, options, finalPass), condition.where, options.execTimeoutMs);
      wantsFinalPass ||= outcome.wantsFinalPass;
      verdicts.set(condition, (verdict = outcome.matches));
    }
    return verdict;
  };
  for (const block of blocks) {
    if (!block.conditions.every(holds)) continue;
    for (const [keyword, args] of block.options) {
      const value = args[0];
      if (value === undefined) continue;
      if (keyword === "identityfile") {
        // OpenSSH keeps one of each, so a final pass does not add them twice.
        if (!result.identityFiles.includes(value)) result.identityFiles.push(value);
        continue;
      }
      // ProxyJump and ProxyCommand share one slot: whichever comes first wins.
      const slot = keyword === "proxyjump" || keyword === "proxycommand" ? "proxy" : keyword;
      if (seen.has(slot)) continue;
      seen.add(slot);
      apply(result, keyword, value, args);
    }
  }
  return wantsFinalPass;
}

/** The connection as the config has described it so far; the address's user and port come first. */
function matchTarget(originalHost: string, host: string, result: HostConfig, options: ResolveOptions, finalPass: boolean): MatchTarget {
  const localUser = options.localUser ?? userInfo().username;
  return {
    originalHost,
    host: finalPass ? host.toLowerCase() : host,
    user: options.user ?? result.user ?? localUser,
    port: options.port ?? result.port ?? 22,
    localUser,
    home: options.home ?? homedir(),
    finalPass,
  };
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
