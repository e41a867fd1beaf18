/**
 * An SSH host whose PATH lacks programs: the commands Stowage sends through `exec` run with `PATH`
 * set to a folder of our choosing, so a test can take `node` away from the host.
 */
import { readdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { openSystem, type AddressInput, type ExecOptions } from "../../src/index.js";
import { full } from "./full-system.js";
import { tempDir } from "./process.js";

type Exec = (command: string, options?: ExecOptions) => ReturnType<ReturnType<typeof full>["exec"]>;

/** Runs `body` with the commands Stowage sends to the host through `exec` going through `wrap`. */
async function withHostExec<T>(place: AddressInput, wrap: (exec: Exec) => Exec, body: () => Promise<T>): Promise<T> {
  const ssh = full(await openSystem(place));
  const exec = ssh.exec.bind(ssh);
  ssh.exec = wrap(exec);
  try {
    return await body();
  } finally {
    ssh.exec = exec;
  }
}

/** Runs the host's commands (those Stowage sends through `exec`) with `PATH` set to `bin`. */
export function withHostPath<T>(host: string, bin: string, body: () => Promise<T>): Promise<T> {
  return withHostExec({ system: "ssh", host, path: "/" }, (exec) => (command, options) => exec(`PATH=${bin}; export PATH; ${command}`, options), body);
}

export interface ExecCall {
  command: string;
  /** What the command was given on stdin ("" for none). */
  stdin: string;
}

/** The commands Stowage sent to the host through `exec` while `body` ran, with their stdin. */
export async function execCallsDuring(place: AddressInput, body: () => Promise<unknown>): Promise<ExecCall[]> {
  const calls: ExecCall[] = [];
  const record =
    (exec: Exec): Exec =>
    (command, options) => {
      calls.push({ command, stdin: options?.stdin?.toString() ?? "" });
      return exec(command, options);
    };
  await withHostExec(place, record, body);
  return calls;
}

/** A folder of links to every program in /usr/bin but node: a host whose PATH has no Node. */
export function binWithoutNode(): string {
  const bin = tempDir("bin-without-node");
  for (const name of readdirSync("/usr/bin")) if (name !== "node" && name !== "nodejs") symlinkSync(join("/usr/bin", name), join(bin, name));
  return bin;
}
