/**
 * Makes sure an SSH host can run this exact Stowage for a copy out of it, without any registry:
 * the runner bundle (`dist/runner/stowage-runner.mjs`, built by scripts/build-runner.ts) is
 * uploaded over the same connection into `~/.cache/stowage/runner/` on the host, under a name that
 * holds its version and hash, and runs with the host's own `node` after a check of its hash.
 * `STOWAGE_REMOTE_COMMAND` replaces all of that with a command of the user's choosing.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../systems/config.js";
import type { ExecResult } from "../systems/contract.js";
import { canWrite, type With } from "../systems/extensions.js";
import { VERSION } from "../version.js";

/** The runner is built for this Node and later. */
export const MIN_NODE_MAJOR = 20;
/** The exit code of the launcher when the cached runner is not the one it was told to run. */
export const STALE_RUNNER_EXIT = 75;

/** The cache folder, as a path of the SSH system ("/~/x" is below the login directory) and as the host's shell writes it. */
const CACHE_DIR = "/~/.cache/stowage/runner";
const SHELL_CACHE_DIR = `"$HOME"/.cache/stowage/runner`;

/** How to start the runner (`cached`: Stowage's own, from the host's cache), or why it cannot run. */
export type HostRunner = { command: string; cached: boolean } | { reason: string };

interface LocalRunner {
  bytes: Buffer;
  sha256: string;
  /** The file name on the host: version and hash prefix, so versions and builds never collide. */
  name: string;
}

const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

export function remoteCommandOverride(): string | undefined {
  return loadConfig().ssh?.remoteCommand as string | undefined;
}

/** Where the bundle is: beside dist/transfer/ in a build, under dist/ when running from a source checkout. */
const BUNDLE_CANDIDATES = [new URL("../runner/stowage-runner.mjs", import.meta.url), new URL("../../dist/runner/stowage-runner.mjs", import.meta.url)];

let local: Promise<LocalRunner | undefined> | undefined;

/** This installation's runner and its hash, read once per process. */
export function localRunner(): Promise<LocalRunner | undefined> {
  local ??= (async () => {
    for (const url of BUNDLE_CANDIDATES) {
      const bytes = await readFile(url).catch(() => undefined);
      if (!bytes) continue;
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      return { bytes, sha256, name: `stowage-runner-${VERSION}-${sha256.slice(0, 16)}.mjs` };
    }
    return undefined;
  })();
  return local;
}

// Both scripts run under `node -e` on the host (CommonJS, no `catch {}` shorthand so that an old Node
// still prints its version). argv[1] is the cached file.
/** Prints the Node version and the cached runner's SHA-256 ("-" when there is none). */
const PROBE = `var f=process.argv[1],h="-";try{h=require("crypto").createHash("sha256").update(require("fs").readFileSync(f)).digest("hex")}catch(e){}process.stdout.write(process.version+" "+h+"\\n")`;
/** Runs the cached runner only if it still has the hash the caller expects (argv[2]). */
const LAUNCH = `var f=process.argv[1],b;try{b=require("fs").readFileSync(f)}catch(e){b=Buffer.alloc(0)}if(require("crypto").createHash("sha256").update(b).digest("hex")!==process.argv[2]){process.stderr.write("stowage: the cached runner is not the expected one\\n");process.exit(${STALE_RUNNER_EXIT})}import(require("url").pathToFileURL(f).href)`;

const lastLine = (result: ExecResult) => result.stderr.toString().trim().split("\n").at(-1) ?? "";

async function exec(host: With<"exec">, command: string): Promise<ExecResult> {
  return host.exec(command).catch((error: unknown) => ({ code: -1, stdout: Buffer.alloc(0), stderr: Buffer.from(String(error)) }));
}

/** Installs the runner in the host's cache unless it is there already, and says how to start it. */
async function installRunner(host: With<"exec">): Promise<HostRunner> {
  const runner = await localRunner();
  if (!runner) {
    const where = fileURLToPath(BUNDLE_CANDIDATES[0]!);
    return { reason: `this installation has no runner bundle (${where}; \`npm run build\` makes it)` };
  }
  const file = `${SHELL_CACHE_DIR}/${quote(runner.name)}`;
  const probed = await exec(host, `node -e ${quote(PROBE)} ${file}`);
  const found = /v(\d+)\.\d+\.\d+ ([0-9a-f]{64}|-)\s*$/.exec(probed.stdout.toString());
  const install = `install Node.js ${MIN_NODE_MAJOR} or later there (nodejs.org, or the system's packages) so that \`node\` is on the PATH of a non-interactive login, or set STOWAGE_REMOTE_COMMAND`;
  if (probed.code !== 0 || !found)
    return { reason: `the host has no usable Node.js (\`node\` failed: ${lastLine(probed) || `exit ${probed.code}`}); ${install}` };
  if (Number(found[1]) < MIN_NODE_MAJOR) return { reason: `the host's Node.js is v${found[1]}, older than ${MIN_NODE_MAJOR}; ${install}` };
  if (found[2] !== runner.sha256) {
    if (!canWrite(host)) return { reason: "the host's cache cannot be written" };
    try {
      await host.mkdir(CACHE_DIR);
      // Atomic (temp file and rename), so a runner started meanwhile never sees half a file.
      await host.write(`${CACHE_DIR}/${runner.name}`, runner.bytes);
    } catch (error) {
      return { reason: `cannot put Stowage's runner into ~/.cache/stowage/runner on the host: ${(error as Error).message}` };
    }
  }
  return { command: `node -e ${quote(LAUNCH)} ${file} ${runner.sha256}`, cached: true };
}

async function checkOverride(host: With<"exec">, command: string): Promise<HostRunner> {
  const probed = await exec(host, `${command} --version`);
  if (probed.code === 0) return { command, cached: false };
  return { reason: `STOWAGE_REMOTE_COMMAND does not run on the host (\`${command} --version\` failed: ${lastLine(probed)})` };
}

/** Per host connection and override: the probe (and install) runs once, as the connection is reused. */
const prepared = new WeakMap<object, Map<string, Promise<HostRunner>>>();

/** How to start the runner on this host, or why it cannot run there. */
export function hostRunner(host: With<"exec">): Promise<HostRunner> {
  const override = remoteCommandOverride();
  let byCommand = prepared.get(host);
  if (!byCommand) prepared.set(host, (byCommand = new Map()));
  let result = byCommand.get(override ?? "");
  if (!result) {
    result = override ? checkOverride(host, override) : installRunner(host);
    byCommand.set(override ?? "", result);
  }
  return result;
}

/** Forgets what was learnt of the host (its cached runner changed under us): the next run probes again. */
export function forgetHost(host: With<"exec">): void {
  prepared.delete(host);
}
