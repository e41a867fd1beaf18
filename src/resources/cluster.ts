/** A remote host reached over SSH: somewhere to put folders and to run commands next to the data. */
import type { Address } from "../address.js";
import { Credentials } from "../credentials.js";
import type { SshCredentials } from "../systems/catalog.js";
import { StowageError } from "../errors.js";
import { descriptorOf, isSystemName, parseAddress } from "../systems/addresses.js";
import type { RecordBody } from "../registry/index.js";
import type { ExecOptions, ExecResult } from "../systems/contract.js";
import { need } from "../systems/extensions.js";
import { systems } from "../systems/registry.js";
import { historyOf, loadAs, saveResource, type HistoryEntry, type Nameable, type SaveOptions } from "./named.js";

export interface ClusterInit {
  /** A host name, IP address or ~/.ssh/config alias. */
  host: string;
  user?: string;
  port?: number;
  /** The name `save()` records it under; a cluster saved locally then works as a system name. */
  name?: string;
  /** Explicit SSH credentials, used in memory and never saved (a saved cluster keeps host, user, port). */
  credentials?: SshCredentials;
}

const CLUSTER_OPTIONS = ["host", "user", "port", "name", "credentials"];

export class Cluster implements Nameable {
  readonly resourceType = "cluster" as const;
  readonly host: string;
  readonly user: string | undefined;
  readonly port: number | undefined;
  name: string | undefined;
  version: number | undefined;
  readonly #credentials: Credentials | undefined;

  constructor(init: ClusterInit) {
    if (typeof init !== "object" || init === null) throw new StowageError({ code: "InvalidInput", message: "a cluster takes { host, user, port }" });
    const unknown = Object.keys(init).filter((key) => !CLUSTER_OPTIONS.includes(key) && (init as unknown as Record<string, unknown>)[key] !== undefined);
    if (unknown.length > 0)
      throw new StowageError({
        code: "InvalidInput",
        message: `cluster() has no option ${unknown.map((k) => `"${k}"`).join(", ")}; it takes ${CLUSTER_OPTIONS.join(", ")}`,
      });
    if (!init.host || typeof init.host !== "string") throw new StowageError({ code: "InvalidInput", message: "a cluster needs a host" });
    if (init.port !== undefined && !(Number.isInteger(init.port) && init.port > 0 && init.port < 65536)) {
      throw new StowageError({ code: "InvalidInput", message: `port must be 1-65535, got ${String(init.port)}` });
    }
    this.host = init.host;
    this.user = init.user;
    this.port = init.port;
    this.name = init.name;
    this.#credentials = init.credentials === undefined ? undefined : Credentials.for("ssh", descriptorOf("ssh").credentials, init.credentials);
  }

  /** The cluster saved under `name`. */
  static fromName(name: string): Promise<Cluster> {
    return loadAs<Cluster>(name, "cluster");
  }

  /** The address of `path` on this host ("~/x" and "/~/x" are relative to the login directory). */
  address(path: string): Address {
    // The same path rules as in an ssh:// URL, so "~/x" is "/~/x" (and the address formats as a URL).
    const address: Address = { system: "ssh", host: this.host, path: parseAddress({ system: "ssh", host: this.host, path }).path };
    if (this.user) address.user = this.user;
    if (this.port) address.port = this.port;
    if (this.#credentials) address.credentials = this.#credentials;
    return address;
  }

  /** Runs a shell command on the host. */
  async run(command: string, options?: ExecOptions): Promise<ExecResult> {
    const system = need(await systems.open(this.address("/")), "exec", "run");
    return system.exec(command, options);
  }

  /**
   * Records host, user and port under `name` (default: its own). A cluster saved in the local
   * registry can then stand for a system: `folder({ system: "gpu-box", path })`, `ssh://gpu-box/…`.
   */
  async save(name?: string, options: SaveOptions = {}): Promise<this> {
    const chosen = name ?? this.name;
    if (chosen !== undefined) {
      const last = chosen.replace(/^[~@]\//, "");
      if (isSystemName(last)) {
        throw new StowageError({ code: "InvalidInput", operation: "save", path: chosen, message: `"${chosen}" is a system's name; a cluster needs another` });
      }
    }
    await saveResource(this, name, options);
    return this;
  }

  history(): Promise<HistoryEntry[]> {
    return historyOf(this);
  }

  async writePending(): Promise<void> {}

  async recordBody(): Promise<RecordBody> {
    const address: RecordBody["address"] = { system: "ssh", path: "/", host: this.host };
    if (this.user) address.user = this.user;
    if (this.port) address.port = this.port;
    const user = this.user ? `${encodeURIComponent(this.user)}@` : "";
    const host = this.host.includes(":") ? `[${this.host}]` : this.host;
    return { type: "cluster", address, url: `ssh://${user}${host}${this.port ? `:${this.port}` : ""}/` };
  }

  toJSON(): { kind: "cluster"; host: string; user?: string; port?: number } {
    return { kind: "cluster", host: this.host, ...(this.user ? { user: this.user } : {}), ...(this.port ? { port: this.port } : {}) };
  }
}

export function cluster(init: ClusterInit | string): Cluster {
  return new Cluster(typeof init === "string" ? { host: init } : init);
}
