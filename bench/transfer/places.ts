/**
 * Where each run's data goes and comes from, spelled for each tool, plus the untimed chores around
 * a run: preparing a fresh destination, verifying what landed, and removing it afterwards.
 *
 * The SSH "host" is this machine, so an SSH destination is verified and removed on the local disk.
 * Object-store destinations are verified by listing through Stowage's own system (count and bytes).
 */
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { openSystem, writable } from "../../src/index.js";
import { RCLONE_REMOTE } from "./rclone.js";

export type DestinationSystem = "local" | "ssh" | "s3" | "azure" | "gs";

export interface Tally {
  files: number;
  bytes: number;
}

const SCHEME: Record<Exclude<DestinationSystem, "ssh" | "local">, string> = { s3: "s3", azure: "az", gs: "gs" };

export class Places {
  constructor(
    /** ssh alias from the generated ssh config. */
    readonly sshAlias: string,
    /** Directory (on this machine = the SSH host) for SSH destinations. */
    readonly sshRoot: string,
    /** Directory for local destinations (downloads). */
    readonly localRoot: string,
  ) {}

  /** A fresh destination for one run, `name` unique per run (also a valid bucket name). */
  stowage(system: DestinationSystem, name: string): string {
    if (system === "local") return join(this.localRoot, name);
    return system === "ssh" ? `ssh://${this.sshAlias}${join(this.sshRoot, name)}` : `${SCHEME[system]}://${name}/data`;
  }

  rclone(system: DestinationSystem, name: string): string {
    if (system === "local") return join(this.localRoot, name);
    return system === "ssh" ? `${RCLONE_REMOTE.ssh}:${join(this.sshRoot, name)}` : `${RCLONE_REMOTE[system]}:${name}/data`;
  }

  /** An SSH destination as a path on the host, for a tool that runs there. */
  onHost(name: string): string {
    return this.#onDisk("ssh", name);
  }

  /** scp/rsync target directory (with a trailing slash, so both copy into it). */
  openssh(system: DestinationSystem, name: string): string {
    return system === "local" ? `${join(this.localRoot, name)}/` : `${this.sshAlias}:${join(this.sshRoot, name)}/`;
  }

  /** The directory on this machine holding a local or SSH destination. */
  #onDisk(system: "local" | "ssh", name: string): string {
    return join(system === "local" ? this.localRoot : this.sshRoot, name);
  }

  /** scp needs the target directory to exist; every tool gets the same empty directory. */
  async prepare(system: DestinationSystem, name: string): Promise<void> {
    if (system === "ssh" || system === "local") await mkdir(this.#onDisk(system, name), { recursive: true });
  }

  async tally(system: DestinationSystem, name: string): Promise<Tally> {
    if (system === "ssh" || system === "local") return tallyDir(this.#onDisk(system, name));
    const url = this.stowage(system, name);
    const target = await openSystem(url);
    const tally: Tally = { files: 0, bytes: 0 };
    for await (const entry of target.list(`/${name}/data`, { recursive: true })) {
      tally.files++;
      tally.bytes += entry.size;
    }
    return tally;
  }

  async remove(system: DestinationSystem, name: string): Promise<void> {
    if (system === "ssh" || system === "local") {
      await rm(this.#onDisk(system, name), { recursive: true, force: true });
      return;
    }
    const target = await openSystem(this.stowage(system, name));
    await writable(target, "delete").delete([`/${name}`], { recursive: true });
  }
}

export async function tallyDir(dir: string): Promise<Tally> {
  const tally: Tally = { files: 0, bytes: 0 };
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  await Promise.all(
    entries
      .filter((entry) => entry.isFile())
      .map(async (entry) => {
        const { size } = await stat(join(entry.parentPath ?? entry.path, entry.name));
        tally.files++;
        tally.bytes += size;
      }),
  );
  return tally;
}
