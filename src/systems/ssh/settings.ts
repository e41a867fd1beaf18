/**
 * Everything needed to reach one host, resolved once from the address, Stowage's config and the
 * user's ssh config. Address fields win over the ssh config, which wins over OpenSSH's defaults.
 * A host behind ProxyJump carries the settings of the hop before it, each resolved through the
 * same ssh config, as OpenSSH does.
 */
import { homedir, userInfo } from "node:os";
import { join } from "node:path";
import type { Address } from "../../address.js";
import type { Credentials } from "../../credentials.js";
import type { StowageConfig } from "../../config.js";
import { sectionOf } from "../descriptor.js";
import type { SshConfig } from "./index.js";
import { SshConfigError } from "./errors.js";
import { expandPath, expandTokens, PROXY_COMMAND_TOKENS, readHostConfig, type HostConfig, type TokenValues } from "./ssh-config.js";

/** What to do with a host key known_hosts does not vouch for. */
export type HostKeyPolicy =
  /** Unknown and changed keys are errors (the default). */
  | "strict"
  /** Unknown keys are accepted and recorded; changed keys are errors. */
  | "accept-new"
  /** Every key is accepted (`StrictHostKeyChecking no`); unknown keys are still recorded. */
  | "off";

/** How the SSH connection to a host is carried when it is not a direct TCP connection. */
export type ProxyRoute =
  /** Through an SSH connection to `via` (a direct-tcpip channel from there), as ProxyJump. */
  | { kind: "jump"; via: SshSettings }
  /** Over the stdin and stdout of this shell command (tokens already expanded), as ProxyCommand. */
  | { kind: "command"; command: string };

export interface SshSettings {
  /** The host as given in the address (possibly an ssh config alias). */
  alias: string;
  /** The host actually connected to. */
  hostName: string;
  port: number;
  user: string;
  /** Private key files to try, in order; they may not exist. */
  identityFiles: string[];
  /** The ssh-agent socket, unless IdentitiesOnly or IdentityAgent none rule it out. */
  agentSocket: string | undefined;
  /** known_hosts files read to verify the host key. */
  knownHostsFiles: string[];
  /** Where newly accepted host keys are appended. */
  knownHostsWriteFile: string | undefined;
  hostKeyPolicy: HostKeyPolicy;
  /** Undefined for a direct connection. */
  proxy: ProxyRoute | undefined;
  /** Explicit credentials given with the address (the target host only, never its jump hosts). */
  credentials?: Credentials | undefined;
}

const DEFAULT_KEYS = ["id_ed25519", "id_ecdsa", "id_rsa"];
const GLOBAL_KNOWN_HOSTS = ["/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"];
/** Jump hosts behind one another at most; more means hosts that jump through each other. */
const MAX_JUMP_DEPTH = 16;

/** A host to resolve, with what its address (or ProxyJump hop) says beyond the name. */
interface HostSpec {
  host: string;
  user?: string | undefined;
  port?: number | undefined;
}

interface Context {
  config: StowageConfig;
  env: NodeJS.ProcessEnv;
  home: string;
  configFile: string;
  localUser: string;
}

export function resolveSettings(address: Address, config: StowageConfig, env: NodeJS.ProcessEnv = process.env): SshSettings {
  const home = env.HOME || homedir();
  const ssh = sectionOf<SshConfig>(config, "ssh");
  const context: Context = {
    config,
    env,
    home,
    configFile: ssh.configFile ?? join(home, ".ssh", "config"),
    localUser: userInfo().username,
  };
  const settings = resolveHost(context, { host: address.host!, user: address.user, port: address.port }, undefined, 0);
  return address.credentials ? { ...settings, credentials: address.credentials } : settings;
}

/**
 * `proxyOverride` replaces the host's own ProxyJump/ProxyCommand: a later hop of a ProxyJump list
 * is reached through the hops before it (as OpenSSH's `ssh -J earlier,hops -W … hop`).
 */
function resolveHost(context: Context, spec: HostSpec, proxyOverride: ProxyRoute | undefined, depth: number): SshSettings {
  const { config, env, home, localUser } = context;
  const ssh = sectionOf<SshConfig>(config, "ssh");
  const alias = spec.host;
  // Match criteria see the address's user and port before any the config gives (as ssh's -l and -p).
  const host = readHostConfig(context.configFile, alias, { home, localUser, user: spec.user, port: spec.port });
  const port = spec.port ?? host.port ?? 22;
  const user = spec.user ?? host.user ?? localUser;
  // HostName may itself use %h (the alias), as in "HostName %h.example.com".
  const hostName = host.hostName ? host.hostName.replace(/%h/g, alias).replace(/%%/g, "%") : alias;
  const tokens: TokenValues = { home, localUser, hostName, remoteUser: user, port, alias };
  const expand = (value: string) => expandPath(value, tokens);

  const identityFiles = host.identityFiles.length > 0 ? host.identityFiles.map(expand) : DEFAULT_KEYS.map((name) => join(home, ".ssh", name));

  const agentSetting = host.identityAgent;
  let agentSocket = agentSetting === undefined || agentSetting === "SSH_AUTH_SOCK" ? env.SSH_AUTH_SOCK : agentSetting;
  if (agentSetting?.startsWith("$")) agentSocket = env[agentSetting.slice(1)];
  else if (agentSetting !== undefined && agentSetting !== "SSH_AUTH_SOCK" && agentSetting !== "none") agentSocket = expand(agentSetting);
  if (agentSetting === "none" || host.identitiesOnly) agentSocket = undefined;

  let knownHostsFiles: string[];
  let knownHostsWriteFile: string | undefined;
  if (ssh.knownHosts) {
    knownHostsFiles = [ssh.knownHosts];
    knownHostsWriteFile = ssh.knownHosts;
  } else {
    const userFiles = (host.userKnownHostsFiles ?? ["~/.ssh/known_hosts", "~/.ssh/known_hosts2"]).filter((f) => f !== "none").map(expand);
    knownHostsFiles = [...userFiles, ...GLOBAL_KNOWN_HOSTS];
    knownHostsWriteFile = userFiles[0];
  }

  let hostKeyPolicy: HostKeyPolicy = ssh.acceptNewHostKeys ? "accept-new" : "strict";
  if (host.strictHostKeyChecking === "accept-new") hostKeyPolicy = "accept-new";
  if (host.strictHostKeyChecking === "no") hostKeyPolicy = "off";

  return {
    alias,
    hostName,
    port,
    user,
    identityFiles: unique(identityFiles),
    agentSocket: agentSocket || undefined,
    knownHostsFiles,
    knownHostsWriteFile,
    hostKeyPolicy,
    proxy: proxyOverride ?? resolveProxy(context, host.proxy, tokens, depth),
  };
}

function resolveProxy(context: Context, directive: HostConfig["proxy"], tokens: TokenValues, depth: number): ProxyRoute | undefined {
  if (directive === undefined || directive.kind === "none") return undefined;
  if (directive.kind === "command") return { kind: "command", command: expandTokens(directive.command, tokens, PROXY_COMMAND_TOKENS) };
  if (depth >= MAX_JUMP_DEPTH) {
    throw new SshConfigError(
      `ProxyJump of ${tokens.alias} leads through more than ${MAX_JUMP_DEPTH} jump hosts: do jump hosts jump through each other (a "Host *" ProxyJump that also matches the jump host)?`,
    );
  }
  // The first hop is reached as its own config says (its ProxyJump too); each later one through the hop before it.
  let route: ProxyRoute | undefined;
  for (const hop of directive.hops) route = { kind: "jump", via: resolveHost(context, parseHop(hop), route, depth + 1) };
  return route;
}

/** A ProxyJump hop: `[user@]host[:port]`, `[user@][v6addr]:port` or `ssh://[user@]host[:port]`. */
export function parseHop(text: string): HostSpec {
  const spec = text.startsWith("ssh://") ? text.slice("ssh://".length).replace(/\/$/, "") : text;
  const at = spec.lastIndexOf("@");
  const user = at >= 0 ? spec.slice(0, at) : undefined;
  const hostPort = spec.slice(at + 1);
  const match = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostPort) ?? /^([^:[\]]+)(?::(\d+))?$/.exec(hostPort);
  const port = match?.[2] === undefined ? undefined : Number(match[2]);
  if (!match || user === "" || (port !== undefined && (port < 1 || port > 65535))) {
    throw new SshConfigError(`invalid ProxyJump hop "${text}": expected [user@]host[:port]`);
  }
  return { host: match[1]!, user, port };
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
