/**
 * A host reached over SSH (a "cluster"): `ssh://[user@]host[:port]/path` (`sftp://` too), with
 * ~/.ssh/config, the agent and known_hosts as OpenSSH uses them. "/~/x" is relative to the login
 * directory.
 */
import { join } from "node:path";
import { StowageError } from "../../errors.js";
import type { Address } from "../../address.js";
import type { SystemDescriptor } from "../descriptor.js";
import { file, variable } from "../sources.js";

import { normalizePath } from "../paths.js";

export interface SshConfig {
  /** A command that runs Stowage's runner on a host instead of the bundle Stowage uploads there (it reads the same request on stdin). */
  remoteCommand: string;
  /**
   * Bring this machine's Node binary to a host without Node 20+ (same OS and architecture only),
   * into ~/.cache/stowage/node there, so copies still run on the host. Default true.
   */
  shipNode: boolean;
  /** Accept and remember host keys not yet in known_hosts. Default false: unknown keys are an error. */
  acceptNewHostKeys: boolean;
  knownHosts: string;
  configFile: string;
}

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

/** Explicit SSH credentials, tried before the agent and key files. */
export interface SshCredentials {
  /** A private key in OpenSSH or PEM form. */
  privateKey?: string | Buffer;
  passphrase?: string;
  password?: string;
}

export const descriptor: SystemDescriptor = {
  name: "ssh",
  schemes: ["ssh", "sftp"],
  packages: ["ssh2"],
  credentials: { fields: ["privateKey", "passphrase", "password"] },
  addressOptions: ["host", "user", "port"],
  setup: (context) => {
    const configFile = context.config.ssh?.configFile;
    return {
      sources: [
        ...variable(context, "SSH_AUTH_SOCK", "ssh-agent ($SSH_AUTH_SOCK)"),
        ...file(typeof configFile === "string" ? configFile : join(context.home, ".ssh", "config")),
        ...["id_ed25519", "id_ecdsa", "id_rsa"].flatMap((key) => file(join(context.home, ".ssh", key))),
        ...variable(context, "STOWAGE_SSH_PASSPHRASE"),
      ],
    };
  },
  config: {
    remoteCommand: { env: "STOWAGE_REMOTE_COMMAND", type: "string" },
    shipNode: { env: "STOWAGE_SHIP_NODE", type: "boolean" },
    acceptNewHostKeys: { env: "STOWAGE_SSH_ACCEPT_NEW_HOST_KEYS", type: "boolean" },
    knownHosts: { env: "STOWAGE_SSH_KNOWN_HOSTS", type: "string" },
    configFile: { env: "STOWAGE_SSH_CONFIG", type: "string" },
  },
  load: async () => (await import("./system.js")).createSshSystem,
  parseUrl: (rest, { text }) => parseSshUrl(rest, text),
  normalize: (address) => {
    if (!address.host) throw new StowageError({ code: "InvalidInput", message: "an ssh address needs a host" });
    return address;
  },
  format: (address) => {
    const user = address.user ? `${encodeURIComponent(address.user)}@` : "";
    const host = address.host?.includes(":") ? `[${address.host}]` : address.host;
    const port = address.port ? `:${address.port}` : "";
    return `ssh://${user}${host}${port}${address.path}`;
  },
  connectionKey: (address) => `ssh:${address.user ?? ""}@${address.host}:${address.port ?? ""}`,
  defaultPath: (kind, name) => `/~/.cache/stowage/${kind}/${name}`,
};
