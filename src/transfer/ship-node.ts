/**
 * Brings this process's own Node binary to an SSH host that has no usable `node`, so the runner
 * still runs there: only when the host's OS and architecture are this machine's, into
 * `~/.cache/stowage/node/node-<version>-<platform>-<arch>-<hash>` (atomic, mode 755), with its
 * SHA-256 checked on the host before it is used on a connection. `ssh.shipNode: false`
 * (`STOWAGE_SHIP_NODE=0`) turns this off.
 */
import { createHash, randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { loadConfig } from "../systems/config.js";
import type { ExecResult } from "../systems/contract.js";
import { canWrite, type With } from "../systems/extensions.js";

/** The exit code of a start whose cached Node changed since it was checked (the runner's own STALE_RUNNER_EXIT). */
const STALE_EXIT = 75;
const CACHE_DIR = "/~/.cache/stowage/node";
const SHELL_CACHE_DIR = `"$HOME"/.cache/stowage/node`;

const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

/**
 * How to start the Node Stowage brought (shell words a node command line follows) and what its
 * first start printed, or why it cannot bring one.
 */
export type ShippedNode = { run: string; started: ExecResult } | { reason: string };

/** `uname -s` and `uname -m` as Node names them; only the pairs a Node binary of this machine could run on. */
const OS_NAMES: Readonly<Record<string, NodeJS.Platform>> = { Linux: "linux", Darwin: "darwin" };
const MACHINE_NAMES: Readonly<Record<string, string>> = {
  x86_64: "x64",
  amd64: "x64",
  aarch64: "arm64",
  arm64: "arm64",
  i386: "ia32",
  i686: "ia32",
  armv7l: "arm",
  armv8l: "arm",
  ppc64le: "ppc64",
  s390x: "s390x",
  riscv64: "riscv64",
};

/** Whether Stowage may bring its Node to hosts without one: `ssh.shipNode`, `STOWAGE_SHIP_NODE`; default on. */
export function shipNodeEnabled(): boolean {
  return loadConfig().ssh?.shipNode !== false;
}

interface LocalNode {
  path: string;
  sha256: string;
  size: number;
  /** The file name on the host: version, platform, architecture and hash prefix, so builds never collide. */
  name: string;
}

async function readLocalNode(): Promise<LocalNode | { reason: string }> {
  if (!Object.values(OS_NAMES).includes(process.platform))
    return { reason: `Stowage brings its own Node.js only from Linux and macOS, not ${process.platform}` };
  if (process.release.name !== "node" || process.versions.electron) return { reason: `this process does not run on a plain Node.js binary` };
  const path = process.execPath;
  const info = await stat(path).catch(() => undefined);
  // A symlink to the binary is fine (stat follows it); a wrapper folder or a missing file is not.
  if (!info?.isFile()) return { reason: `this machine's Node.js (${path}) is not a regular file` };
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  const sha256 = hash.digest("hex");
  return { path, sha256, size: info.size, name: `node-${process.version}-${process.platform}-${process.arch}-${sha256.slice(0, 16)}` };
}

let local: Promise<LocalNode | { reason: string }> | undefined;

/** This process's Node binary and its hash (about 0.3 s for 100 MB), read once per process and only when a host needs it. */
function localNode(): Promise<LocalNode | { reason: string }> {
  local ??= readLocalNode();
  return local;
}

const lastLine = (result: ExecResult) => (result.stderr.toString() || result.stdout.toString()).trim().split("\n").at(-1) ?? "";

async function exec(host: With<"exec">, command: string): Promise<ExecResult> {
  return host.exec(command).catch((error: unknown) => ({ code: -1, stdout: Buffer.alloc(0), stderr: Buffer.from(String(error)) }));
}

// The host-side scripts run under `sh -c` (the login shell may be any), as `sh -c SCRIPT stowage ARGS…`.
const STAT = `stat -c "%s %Y" "$f" 2>/dev/null || stat -f "%z %m" "$f" 2>/dev/null`;
/**
 * One round trip per connection for all the caller must know: prints "stowage-uname <uname -sm>",
 * then "stowage-node absent", "nohash" (no sha256sum, shasum or openssl), "different <sha256>", or
 * "ok <size> <mtime>" for the cached file $1 expected to hash to $2; when ok, starts it with the
 * remaining arguments (the runner's probe), whose output follows.
 */
const CHECK_AND_START = [
  `f=$1 want=$2`,
  `shift 2`,
  `echo "stowage-uname $(uname -sm 2>/dev/null)"`,
  `[ -f "$f" ] || { echo "stowage-node absent"; exit 0; }`,
  `h=$( (sha256sum "$f" || shasum -a 256 "$f" || openssl dgst -sha256 -r "$f") 2>/dev/null )`,
  `h=\${h%% *}`,
  `[ -n "$h" ] || { echo "stowage-node nohash"; exit 0; }`,
  `[ "$h" = "$want" ] || { echo "stowage-node different $h"; exit 0; }`,
  `echo "stowage-node ok $(${STAT})"`,
  `exec "$f" "$@"`,
].join("\n");
/**
 * Starts the cached Node $1 with the remaining arguments only if its size and mtime are still $2,
 * those it had when its SHA-256 was checked on this connection. Why not the hash on every start:
 * reading 100 MB costs 0.3-0.9 s on each copy (a sync of many folders pays it each time), while
 * what the check guards against is a file replaced or damaged since (a reinstall, another
 * Stowage, a full disk), which changes its mtime; a new connection checks the hash again. Someone
 * who can write the cache could also keep size and mtime, but could as well change ~/.bashrc.
 */
const GUARD = [
  `f=$1 want=$2`,
  `shift 2`,
  `got=$(${STAT})`,
  `if [ "$got" != "$want" ]; then echo "stowage: the cached Node.js is not the one checked" >&2; exit ${STALE_EXIT}; fi`,
  `exec "$f" "$@"`,
].join("\n");

/** Why this machine's Node cannot run on a host of this `uname -sm`; undefined when OS and architecture match. */
function platformMismatch(uname: string): string | undefined {
  const [os = "", machine = ""] = uname.split(/\s+/);
  if (!os) return "`uname -sm` printed nothing on the host";
  const platform = OS_NAMES[os];
  const arch = MACHINE_NAMES[machine];
  if (platform === process.platform && arch === process.arch) return undefined;
  return `the host is ${os} ${machine}${platform && arch ? ` (${platform}-${arch})` : ""}, this machine's Node.js is built for ${process.platform}-${process.arch}`;
}

type Checked = { uname: string } & ({ state: "ok"; sizeAndMtime: string; started: ExecResult } | { state: "absent" | "different" });

async function checkAndStart(host: With<"exec">, file: string, node: LocalNode, args: string): Promise<Checked | { reason: string }> {
  const checked = await exec(host, `sh -c ${quote(CHECK_AND_START)} stowage ${file} ${node.sha256} ${args}`);
  const out = checked.stdout.toString();
  // Anchored at line starts: a login script may print before them.
  const uname = /^stowage-uname (.*)$/m.exec(out)?.[1]?.trim();
  const state = /^stowage-node (absent|nohash|different|ok)(?: (\d+ \d+))?/m.exec(out);
  if (uname === undefined || !state) return { reason: `checking the host failed: ${lastLine(checked) || `exit ${checked.code}`}` };
  if (state[1] === "nohash") return { reason: "the host has no sha256sum, shasum or openssl to check it with" };
  if (state[1] === "ok") return { uname, state: "ok", sizeAndMtime: state[2]!, started: checked };
  return { uname, state: state[1] === "absent" ? "absent" : "different" };
}

/** Uploads the binary under a temporary name, then makes it executable and renames it: a start never sees half a file. */
async function upload(host: With<"exec">, node: LocalNode): Promise<string | undefined> {
  if (!canWrite(host)) return "the host's cache cannot be written";
  const temp = `${node.name}.tmp-${randomUUID().slice(0, 8)}`;
  try {
    await host.mkdir(CACHE_DIR);
    await host.write(`${CACHE_DIR}/${temp}`, createReadStream(node.path), { size: node.size });
  } catch (error) {
    await host.delete([`${CACHE_DIR}/${temp}`]).catch(() => {});
    return `cannot put it into ~/.cache/stowage/node on the host: ${(error as Error).message}`;
  }
  // Leftovers of uploads that died between write and rename (100 MB each) go after a day.
  const publish = `cd ${SHELL_CACHE_DIR} && chmod 755 ${quote(temp)} && mv -f ${quote(temp)} ${quote(node.name)}; s=$?; find . -maxdepth 1 -name '*.tmp-*' -mmin +1440 -exec rm -f {} + 2>/dev/null; exit $s`;
  const published = await exec(host, publish);
  if (published.code === 0) return undefined;
  await host.delete([`${CACHE_DIR}/${temp}`]).catch(() => {});
  return `cannot publish it in ~/.cache/stowage/node on the host: ${lastLine(published) || `exit ${published.code}`}`;
}

/**
 * Makes sure the host's cache holds this process's Node binary, checked by its SHA-256, and starts
 * it once with `args` (shell words: the runner's probe), so the caller sees whether it runs there
 * (its shared libraries); or says why it cannot bring it (another OS or architecture, no way to
 * check it, no room). `run` starts it again on this connection, guarded by its size and mtime.
 */
export async function shipNode(host: With<"exec">, args: string): Promise<ShippedNode> {
  const node = await localNode();
  if ("reason" in node) return node;
  const file = `${SHELL_CACHE_DIR}/${quote(node.name)}`;
  let checked = await checkAndStart(host, file, node, args);
  if ("reason" in checked) return checked;
  const mismatch = platformMismatch(checked.uname);
  if (mismatch) return { reason: mismatch };
  if (checked.state !== "ok") {
    const failed = await upload(host, node);
    if (failed) return { reason: failed };
    checked = await checkAndStart(host, file, node, args);
    if ("reason" in checked) return checked;
    if (checked.state !== "ok") return { reason: "the copy uploaded to the host's cache does not have this machine's SHA-256" };
  }
  return { run: `sh -c ${quote(GUARD)} stowage ${file} ${quote(checked.sizeAndMtime)}`, started: checked.started };
}
