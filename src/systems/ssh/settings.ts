/**
 * Everything needed to reach one host, resolved once from the address, Stowage's config and the
 * user's ssh config. Address fields win over the ssh config, which wins over OpenSSH's defaults.
 */
import { homedir, userInfo } from "node:os";
import { join } from "node:path";
import type { Address } from "../../address.js";
import type { StowageConfig } from "../../config.js";
import { expandPath, readHostConfig, type TokenValues } from "./ssh-config.js";

/** What to do with a host key known_hosts does not vouch for. */
export type HostKeyPolicy =
  /** Unknown and changed keys are errors (the default). */
  | "strict"
  /** Unknown keys are accepted and recorded; changed keys are errors. */
  | "accept-new"
  /** Every key is accepted (`StrictHostKeyChecking no`); unknown keys are still recorded. */
  | "off";

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
}

const DEFAULT_KEYS = ["id_ed25519", "id_ecdsa", "id_rsa"];
const GLOBAL_KNOWN_HOSTS = ["/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"];

export function resolveSettings(address: Address, config: StowageConfig, env: NodeJS.ProcessEnv = process.env): SshSettings {
  const home = env.HOME || homedir();
  const alias = address.host!;
  const configFile = config.ssh?.configFile ?? join(home, ".ssh", "config");
  const host = readHostConfig(configFile, alias);
  const localUser = userInfo().username;
  const port = address.port ?? host.port ?? 22;
  const user = address.user ?? host.user ?? localUser;
  // HostName may itself use %h (the alias), as in "HostName %h.example.com".
  const hostName = host.hostName ? host.hostName.replace(/%h/g, alias).replace(/%%/g, "%") : alias;
  const tokens: TokenValues = { home, localUser, hostName, remoteUser: user, port, alias };
  const expand = (value: string) => expandPath(value, tokens);

  const identityFiles =
    host.identityFiles.length > 0 ? host.identityFiles.map(expand) : DEFAULT_KEYS.map((name) => join(home, ".ssh", name));

  const agentSetting = host.identityAgent;
  let agentSocket = agentSetting === undefined || agentSetting === "SSH_AUTH_SOCK" ? env.SSH_AUTH_SOCK : agentSetting;
  if (agentSetting?.startsWith("$")) agentSocket = env[agentSetting.slice(1)];
  else if (agentSetting !== undefined && agentSetting !== "SSH_AUTH_SOCK" && agentSetting !== "none") agentSocket = expand(agentSetting);
  if (agentSetting === "none" || host.identitiesOnly) agentSocket = undefined;

  let knownHostsFiles: string[];
  let knownHostsWriteFile: string | undefined;
  if (config.ssh?.knownHosts) {
    knownHostsFiles = [config.ssh.knownHosts];
    knownHostsWriteFile = config.ssh.knownHosts;
  } else {
    const userFiles = (host.userKnownHostsFiles ?? ["~/.ssh/known_hosts", "~/.ssh/known_hosts2"]).filter((f) => f !== "none").map(expand);
    knownHostsFiles = [...userFiles, ...GLOBAL_KNOWN_HOSTS];
    knownHostsWriteFile = userFiles[0];
  }

  let hostKeyPolicy: HostKeyPolicy = config.ssh?.acceptNewHostKeys ? "accept-new" : "strict";
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
  };
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
