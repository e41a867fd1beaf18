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
import { canWrite, type With, type Writable } from "../systems/extensions.js";
import { VERSION } from "../version.js";
import { shipNode, shipNodeEnabled } from "./ship-node.js";

/** The runner is built for this Node and later. */
export const MIN_NODE_MAJOR = 20;
/** The exit code of the launcher when the cached runner is not the one it was told to run. */
export const STALE_RUNNER_EXIT = 75;

/** The cache folder, as a path of the SSH system ("/~/x" is below the login directory) and as the host's shell writes it. */
const CACHE_DIR = "/~/.cache/stowage/runner";
const SHELL_CACHE_DIR = `"$HOME"/.cache/stowage/runner`;

/**
 * How to start the runner (`cached`: Stowage's own, from the host's cache; `node`: whose Node runs
 * it, the host's or the one Stowage brought there), or why it cannot run.
 */
export type HostRunner = { command: string; cached: boolean; node?: "host" | "shipped" } | { reason: string };

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
/**
 * Runs the cached runner only if this Node is new enough and the file still has the hash the caller
 * expects (argv[2]); otherwise it exits STALE_RUNNER_EXIT before reading stdin. Where Node keeps a
 * compile cache (22.1+), the 3 MB bundle is compiled once per host, not on every copy (~0.2 s).
 */
const LAUNCH = `var f=process.argv[1],b;if(+process.versions.node.split(".")[0]<${MIN_NODE_MAJOR})process.exit(${STALE_RUNNER_EXIT});try{b=require("fs").readFileSync(f)}catch(e){b=Buffer.alloc(0)}if(require("crypto").createHash("sha256").update(b).digest("hex")!==process.argv[2]){process.stderr.write("stowage: the cached runner is not the expected one\\n");process.exit(${STALE_RUNNER_EXIT})}var m=require("module");if(m.enableCompileCache)m.enableCompileCache(require("path").join(require("path").dirname(f),".compile-cache"));import(require("url").pathToFileURL(f).href)`;

/** The runner's file in the host's cache, as the host's shell writes it. */
const cachedFile = (runner: LocalRunner) => `${SHELL_CACHE_DIR}/${quote(runner.name)}`;
/** Starts the cached runner with `node` (the host's, or a path to one brought there), after LAUNCH's checks. */
const launchCommand = (node: string, runner: LocalRunner) => `${node} -e ${quote(LAUNCH)} ${cachedFile(runner)} ${runner.sha256}`;

const lastLine = (result: ExecResult) => result.stderr.toString().trim().split("\n").at(-1) ?? "";

async function exec(host: With<"exec">, command: string): Promise<ExecResult> {
  return host.exec(command).catch((error: unknown) => ({ code: -1, stdout: Buffer.alloc(0), stderr: Buffer.from(String(error)) }));
}

const PROBED = /v(\d+)\.\d+\.\d+ ([0-9a-f]{64}|-)\s*$/;

/** A Node on the host and what it found of the cached runner, or why there is none that can run it. */
type HostNode = { run: string; kind: "host" | "shipped"; runnerSha256: string } | { reason: string };

/** The host's own `node` (20+), else this machine's brought there (`ship-node.ts`) when allowed and possible. */
async function findNode(host: With<"exec">, file: string): Promise<HostNode> {
  const probed = await exec(host, `node -e ${quote(PROBE)} ${file}`);
  const found = PROBED.exec(probed.stdout.toString());
  if (found && Number(found[1]) >= MIN_NODE_MAJOR) return { run: "node", kind: "host", runnerSha256: found[2]! };
  const install = `install Node.js ${MIN_NODE_MAJOR} or later there (nodejs.org, or the system's packages) so that \`node\` is on the PATH of a non-interactive login, or set STOWAGE_REMOTE_COMMAND`;
  const missing = found
    ? `the host's Node.js is v${found[1]}, older than ${MIN_NODE_MAJOR}`
    : `the host has no usable Node.js (\`node\` failed: ${lastLine(probed) || `exit ${probed.code}`})`;
  if (!shipNodeEnabled()) return { reason: `${missing}, and bringing this machine's Node.js is off (STOWAGE_SHIP_NODE=0, or ssh.shipNode false); ${install}` };
  // Brought there, and started once with the probe: it runs (its shared libraries are there) and is the version sent.
  const shipped = await shipNode(host, `-e ${quote(PROBE)} ${file}`);
  if ("reason" in shipped) return { reason: `${missing}, and Stowage cannot bring this machine's Node.js: ${shipped.reason}; ${install}` };
  const reprobed = shipped.started;
  const ran = PROBED.exec(reprobed.stdout.toString());
  const said = reprobed.stdout.toString().trim().split("\n").at(-1) ?? "";
  if (reprobed.code !== 0 || !ran || !said.startsWith(`${process.version} `)) {
    const why = lastLine(reprobed) || reprobed.stdout.toString().trim() || `exit ${reprobed.code}`;
    return { reason: `${missing}, and this machine's Node.js, brought there, does not run: ${why}; ${install}` };
  }
  return { run: shipped.run, kind: "shipped", runnerSha256: ran[2]! };
}

/**
 * Other versions' and builds' runners untouched this long are removed as a new one is installed, so
 * a host that many Stowage versions used keeps only the recent ones. One still in use is merely
 * uploaded again (3 MB) the next time; one that is running is unaffected (Node has read it).
 */
export const STALE_RUNNER_AGE_MS = 30 * 24 * 60 * 60 * 1000;

async function removeStaleRunners(host: With<"exec"> & Writable, keep: string): Promise<void> {
  try {
    const oldest = Date.now() - STALE_RUNNER_AGE_MS;
    const stale: string[] = [];
    for await (const entry of host.list(CACHE_DIR)) {
      const name = entry.path.slice(entry.path.lastIndexOf("/") + 1);
      if (/^stowage-runner-.+\.mjs$/.test(name) && name !== keep && entry.mtime !== undefined && entry.mtime.getTime() < oldest)
        stale.push(`${CACHE_DIR}/${name}`);
    }
    if (stale.length > 0) await host.delete(stale);
  } catch {
    // Tidying is best effort: the copy does not depend on it.
  }
}

/** Installs the runner in the host's cache unless it is there already, and says how to start it. */
async function installRunner(host: With<"exec">): Promise<HostRunner> {
  const runner = await localRunner();
  if (!runner) {
    const where = fileURLToPath(BUNDLE_CANDIDATES[0]!);
    return { reason: `this installation has no runner bundle (${where}; \`npm run build\` makes it)` };
  }
  const node = await findNode(host, cachedFile(runner));
  if ("reason" in node) return node;
  if (node.runnerSha256 !== runner.sha256) {
    if (!canWrite(host)) return { reason: "the host's cache cannot be written" };
    try {
      await host.mkdir(CACHE_DIR);
      // Atomic (temp file and rename), so a runner started meanwhile never sees half a file.
      await host.write(`${CACHE_DIR}/${runner.name}`, runner.bytes);
    } catch (error) {
      return { reason: `cannot put Stowage's runner into ~/.cache/stowage/runner on the host: ${(error as Error).message}` };
    }
    await removeStaleRunners(host, runner.name);
  }
  return { command: launchCommand(node.run, runner), cached: true, node: node.kind };
}

async function checkOverride(host: With<"exec">, command: string): Promise<HostRunner> {
  const probed = await exec(host, `${command} --version`);
  if (probed.code === 0) return { command, cached: false };
  return { reason: `STOWAGE_REMOTE_COMMAND does not run on the host (\`${command} --version\` failed: ${lastLine(probed)})` };
}

/** Per host connection, override and shipping setting: the probe (and install) runs once, as the connection is reused. */
const prepared = new WeakMap<object, Map<string, Promise<HostRunner>>>();

/** How to start the runner on this host, or why it cannot run there. */
export function hostRunner(host: With<"exec">): Promise<HostRunner> {
  const override = remoteCommandOverride();
  let byCommand = prepared.get(host);
  if (!byCommand) prepared.set(host, (byCommand = new Map()));
  const key = override ? `command:${override}` : `runner:${shipNodeEnabled()}`;
  let result = byCommand.get(key);
  if (!result) {
    result = override ? checkOverride(host, override) : installRunner(host);
    byCommand.set(key, result);
  }
  return result;
}

/** Forgets what was learnt of the host (its cached runner changed under us): the next run probes again. */
export function forgetHost(host: With<"exec">): void {
  prepared.delete(host);
}

/**
 * The start to try on a host this process has not prepared yet, before any probe: the host's `node`
 * with the cached runner, which is there after the first copy to that host. It saves the probe's
 * round trip and login shell (0.5–0.8 s here). When it cannot run, it ends without a wire line
 * (STALE_RUNNER_EXIT, or the shell's 127 without `node`) and without reading stdin, and the caller
 * prepares the host (`hostRunner`) and starts again. Undefined when the host was prepared already or an override is set.
 */
export async function launchBeforeProbe(host: With<"exec">): Promise<HostRunner | undefined> {
  if (remoteCommandOverride() !== undefined || prepared.has(host)) return undefined;
  const runner = await localRunner();
  if (!runner) return undefined;
  return { command: launchCommand("node", runner), cached: true, node: "host" };
}
