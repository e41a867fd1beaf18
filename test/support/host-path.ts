/**
 * An SSH host whose PATH lacks programs: the commands Stowage sends through `exec` run with `PATH`
 * set to a folder of our choosing, so a test can take `node` away from the host.
 */
import { readdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { openSystem, type ExecOptions } from "../../src/index.js";
import { full } from "./full-system.js";
import { tempDir } from "./process.js";

/** Runs the host's commands (those Stowage sends through `exec`) with `PATH` set to `bin`. */
export async function withHostPath<T>(host: string, bin: string, body: () => Promise<T>): Promise<T> {
  const ssh = full(await openSystem({ system: "ssh", host, path: "/" }));
  const exec = ssh.exec.bind(ssh);
  ssh.exec = (command: string, options?: ExecOptions) => exec(`PATH=${bin}; export PATH; ${command}`, options);
  try {
    return await body();
  } finally {
    ssh.exec = exec;
  }
}

/** A folder of links to every program in /usr/bin but node: a host whose PATH has no Node. */
export function binWithoutNode(): string {
  const bin = tempDir("bin-without-node");
  for (const name of readdirSync("/usr/bin")) if (name !== "node" && name !== "nodejs") symlinkSync(join("/usr/bin", name), join(bin, name));
  return bin;
}
