/**
 * `Match` lines of an ssh config, with OpenSSH's semantics (ssh_config(5), readconf.c): criteria
 * are ANDed, each may be negated with `!`, `all` matches alone, and a block's criteria are judged
 * where the block is reached, against what the config has said so far (the HostName and User
 * obtained by then), so first-obtained-value-wins holds across Host and Match blocks in file order.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { SshConfigError } from "./errors.js";
import { hostMatches } from "./patterns.js";

export interface MatchCriterion {
  kind: "all" | "canonical" | "final" | "host" | "originalhost" | "user" | "localuser" | "exec" | "unsupported";
  negated: boolean;
  /** The pattern list, the command of `exec`, or the criterion's name when `unsupported`. */
  argument: string;
}

const WITH_ARGUMENT = new Set(["host", "originalhost", "user", "localuser", "exec"]);
/**
 * Criteria of OpenSSH releases newer than the ones Stowage follows. A config that uses them still
 * reads (the user's ssh accepts it); their blocks never apply.
 */
const NEWER_CRITERIA = new Set(["tagged", "localnetwork", "version", "sessiontype", "command"]);

/** The criteria of one Match line; a line OpenSSH rejects is an SshConfigError, as with ssh. */
export function parseMatch(args: readonly string[], where: string): MatchCriterion[] {
  const criteria: MatchCriterion[] = [];
  for (let i = 0; i < args.length && !args[i]!.startsWith("#"); i++) {
    const word = args[i]!;
    const negated = word.startsWith("!");
    const name = (negated ? word.slice(1) : word).toLowerCase();
    if (name === "all") {
      // Alone, or right after one other criterion (as OpenSSH allows `canonical all`).
      const next = args[i + 1];
      if (criteria.length > 1 || (next !== undefined && !next.startsWith("#"))) {
        throw new SshConfigError(`${where}: Match all cannot be combined with other criteria`);
      }
      criteria.push({ kind: "all", negated, argument: "" });
      break;
    }
    if (name === "canonical" || name === "final") {
      criteria.push({ kind: name, negated, argument: "" });
      continue;
    }
    const argument = args[++i];
    if (!WITH_ARGUMENT.has(name) && !NEWER_CRITERIA.has(name)) throw new SshConfigError(`${where}: unsupported Match criterion "${word}"`);
    if (argument === undefined || argument === "" || argument.startsWith("#")) throw new SshConfigError(`${where}: Match ${name} needs an argument`);
    if (NEWER_CRITERIA.has(name)) criteria.push({ kind: "unsupported", negated, argument: name });
    else criteria.push({ kind: name as MatchCriterion["kind"], negated, argument });
  }
  if (criteria.length === 0) throw new SshConfigError(`${where}: Match needs at least one criterion`);
  return criteria;
}

/** What the criteria are judged against: the connection as the config has described it so far. */
export interface MatchTarget {
  /** The host as given, before HostName (`originalhost`, %n). */
  originalHost: string;
  /** The host name as known so far: the HostName obtained by now, else the host as given (`host`, %h). */
  host: string;
  /** The remote user as known so far: the address's, else the User obtained by now, else the local user (%r). */
  user: string;
  /** The port as known so far (%p). */
  port: number;
  /** The local user (`localuser`, %u). */
  localUser: string;
  /** The local home directory (%d). */
  home: string;
  /** True in the second pass a `Match final` asks for; `canonical` and `final` match only there. */
  finalPass: boolean;
}

export interface MatchOutcome {
  matches: boolean;
  /** The line holds `final`: OpenSSH reads the config again once the first pass is done. */
  wantsFinalPass: boolean;
}

/** How long a `Match exec` command may run. OpenSSH waits for ever; a library should not hang. */
export const MATCH_EXEC_TIMEOUT_MS = 10_000;

export function evaluateMatch(criteria: readonly MatchCriterion[], target: MatchTarget, where: string, execTimeoutMs = MATCH_EXEC_TIMEOUT_MS): MatchOutcome {
  let matches = true;
  let wantsFinalPass = false;
  for (const { kind, negated, argument } of criteria) {
    let hit: boolean;
    switch (kind) {
      case "all":
        hit = true;
        break;
      case "final":
        wantsFinalPass = true;
        hit = target.finalPass;
        break;
      case "canonical":
        // Stowage does no CanonicalizeHostname; OpenSSH matches it in the final pass as well.
        hit = target.finalPass;
        break;
      case "host":
        hit = hostMatches(target.host, patternList(argument));
        break;
      case "originalhost":
        hit = hostMatches(target.originalHost, patternList(argument));
        break;
      case "user":
        hit = hostMatches(target.user, patternList(argument), false);
        break;
      case "localuser":
        hit = hostMatches(target.localUser, patternList(argument), false);
        break;
      case "exec":
        // As OpenSSH: a command runs only while the line can still match.
        if (!matches) continue;
        hit = runMatchExec(expandExecTokens(argument, target, where), where, execTimeoutMs);
        break;
      default: // unsupported: never matches, negated or not
        hit = negated;
    }
    if (hit === negated) matches = false;
  }
  return { matches, wantsFinalPass };
}

const patternList = (argument: string) => argument.split(",").filter((pattern) => pattern !== "");

/**
 * Runs a `Match exec` command with /bin/sh, its output discarded; exit status 0 matches. One that
 * cannot run, or is still running after `timeoutMs` (then killed), is an SshConfigError: OpenSSH
 * stops on a command that does not exit either.
 */
export function runMatchExec(command: string, where: string, timeoutMs: number): boolean {
  const result = spawnSync("/bin/sh", ["-c", command], { stdio: "ignore", timeout: timeoutMs, killSignal: "SIGKILL" });
  if (result.status !== null && !result.error) return result.status === 0;
  const why = (result.error as NodeJS.ErrnoException | undefined)?.code === "ETIMEDOUT" ? `did not finish within ${timeoutMs} ms` : "could not run";
  throw new SshConfigError(`${where}: Match exec "${command}" ${why}`, { cause: result.error });
}

/** The `%` tokens of a `Match exec` command (ssh_config(5) TOKENS); any other is an error, as in OpenSSH. */
function expandExecTokens(command: string, target: MatchTarget, where: string): string {
  const localHost = hostname();
  const port = String(target.port);
  const values: Record<string, string> = {
    "%": "%",
    C: createHash("sha1").update(`${localHost}${target.host}${port}${target.user}`).digest("hex"),
    L: localHost.split(".")[0]!,
    d: target.home,
    h: target.host,
    // HostKeyAlias is not read, so the host key alias is the host.
    k: target.host,
    l: localHost,
    n: target.originalHost,
    p: port,
    r: target.user,
    u: target.localUser,
    i: String(process.getuid?.() ?? ""),
  };
  return command.replace(/%(.)/g, (whole, token: string) => {
    const value = values[token];
    if (value === undefined) throw new SshConfigError(`${where}: unknown token ${whole} in Match exec "${command}"`);
    return value;
  });
}
