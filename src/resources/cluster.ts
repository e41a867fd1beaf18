/** A remote host reached over SSH: somewhere to put folders and to run commands next to the data. */
import type { Address } from "../address.js";
import { StowageError } from "../errors.js";
import type { ExecOptions, ExecResult } from "../systems/contract.js";
import { systems } from "../systems/registry.js";

export interface ClusterInit {
  /** A host name, IP address or ~/.ssh/config alias. */
  host: string;
  user?: string;
  port?: number;
}

export class Cluster {
  readonly host: string;
  readonly user: string | undefined;
  readonly port: number | undefined;

  constructor(init: ClusterInit) {
    if (!init.host) throw new StowageError({ code: "InvalidInput", message: "a cluster needs a host" });
    this.host = init.host;
    this.user = init.user;
    this.port = init.port;
  }

  /** The address of `path` on this host ("/~/x" is relative to the login directory). */
  address(path: string): Address {
    const address: Address = { system: "ssh", host: this.host, path };
    if (this.user) address.user = this.user;
    if (this.port) address.port = this.port;
    return address;
  }

  /** Runs a shell command on the host. */
  async run(command: string, options?: ExecOptions): Promise<ExecResult> {
    const system = await systems.open(this.address("/"));
    return system.exec(command, options);
  }
}

export function cluster(init: ClusterInit | string): Cluster {
  return new Cluster(typeof init === "string" ? { host: init } : init);
}
