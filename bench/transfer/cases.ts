/**
 * The benchmark matrix: paths × workloads × tools, and the command line each case runs.
 * Every tool copies the same source into a fresh destination of the same server.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import type { DestinationSystem, Places } from "./places.js";
import { RCLONE_FLAGS, RCLONE_REMOTE } from "./rclone.js";
import type { ServerName } from "./servers.js";
import type { Workload, WorkloadName } from "./workload.js";

export type SourceSystem = "local" | "ssh" | "s3";
export type Tool = "stowage" | "rclone" | "scp" | "rsync";

export interface PathSpec {
  /** As typed on the command line: local-ssh, s3-s3, ssh-s3… */
  id: string;
  label: string;
  source: SourceSystem;
  destination: DestinationSystem;
  /** rclone runs on the SSH host (over ssh), as Stowage does on this path: both pull onto the host's disk. */
  rcloneOnHost?: boolean;
}

export const PATHS: readonly PathSpec[] = [
  { id: "local-ssh", label: "local→ssh", source: "local", destination: "ssh" },
  { id: "local-s3", label: "local→s3", source: "local", destination: "s3" },
  { id: "local-azure", label: "local→azure", source: "local", destination: "azure" },
  { id: "local-gs", label: "local→gs", source: "local", destination: "gs" },
  { id: "s3-s3", label: "s3→s3", source: "s3", destination: "s3" },
  { id: "ssh-s3", label: "ssh→s3", source: "ssh", destination: "s3" },
  // Pulling a dataset onto the GPU box: Stowage runs on the host, and so does rclone.
  { id: "s3-ssh", label: "s3→ssh", source: "s3", destination: "ssh", rcloneOnHost: true },
  // Not one of the issue's paths: pulling results off a cluster, against rsync, scp and rclone.
  { id: "ssh-local", label: "ssh→local", source: "ssh", destination: "local" },
];

export const TOOLS: readonly Tool[] = ["stowage", "rclone", "scp", "rsync"];

export function serversFor(paths: readonly PathSpec[]): ServerName[] {
  const names = new Set<ServerName>();
  for (const path of paths) {
    if (path.source !== "local") names.add(path.source);
    if (path.destination !== "local") names.add(path.destination);
  }
  return [...names];
}

/** The bucket the s3→s3 cases copy from, seeded once before the rounds. */
export const S3_SOURCE_BUCKET = "bench-source";

export interface Case {
  path: PathSpec;
  workload: Workload;
  tool: Tool;
  /** Stable id, e.g. "local-s3/small/rclone". */
  key: string;
  /** Why this case cannot run here (it is listed, not run). */
  unavailable?: string;
}

/** Whether scp is a reference for this path and workload: the big file between here and the SSH host. */
export function againstScp(path: PathSpec, workload: WorkloadName): boolean {
  return (path.id === "local-ssh" || path.id === "ssh-local") && workload === "big";
}

/** Which tools are references on a path, and for which workloads (per the issue's benchmark). */
function toolsFor(path: PathSpec, workload: WorkloadName): Tool[] {
  if (path.id === "local-ssh" || path.id === "ssh-local")
    return againstScp(path, workload) ? ["stowage", "rclone", "scp", "rsync"] : ["stowage", "rclone", "rsync"];
  return ["stowage", "rclone"];
}

/** Whether rclone is on this machine's PATH (also the SSH host's: the host is this machine). */
export function rcloneInstalled(): boolean {
  return spawnSync("rclone", ["version"], { stdio: "ignore" }).status === 0;
}

/**
 * rclone 1.60's GCS client cannot upload to the firebase-tools emulator: files up to its 16 MiB
 * chunk go as one multipart request whose media part has no Content-Type header (the emulator
 * answers 400 "Missing content type"), larger ones as a resumable upload whose answer rclone cannot
 * parse ("invalid character 'O' looking for beginning of value").
 */
function unavailable(path: PathSpec, tool: Tool, hasRclone: boolean): string | undefined {
  if (tool === "rclone" && !hasRclone) return "rclone is not installed on this machine (Debian: `apt-get install rclone`)";
  if (path.destination === "gs" && tool === "rclone") {
    return 'rclone 1.60 cannot upload to the firebase-tools GCS emulator (small files: 400 "Missing content type" for its multipart upload; large files: it cannot parse the emulator\'s resumable-upload answer)';
  }
  return undefined;
}

export function buildCases(paths: readonly PathSpec[], workloads: readonly Workload[], tools: readonly Tool[], hasRclone = rcloneInstalled()): Case[] {
  const cases: Case[] = [];
  for (const path of paths) {
    for (const workload of workloads) {
      for (const tool of toolsFor(path, workload.name)) {
        if (!tools.includes(tool)) continue;
        const why = unavailable(path, tool, hasRclone);
        cases.push({ path, workload, tool, key: `${path.id}/${workload.name}/${tool}`, ...(why ? { unavailable: why } : {}) });
      }
    }
  }
  return cases;
}

export interface CommandContext {
  places: Places;
  sshConfig: string;
  rcloneConfig: string;
  /** argv prefix that runs a TypeScript file with this checkout's tsx. */
  /** Node, which runs the worker (plain JS over the built package). */
  node: string;
  worker: string;
}

function stowageSource(c: Case, ctx: CommandContext): string {
  switch (c.path.source) {
    case "local":
      return c.workload.dir;
    case "ssh":
      return `ssh://${ctx.places.sshAlias}${c.workload.dir}`;
    case "s3":
      return `s3://${S3_SOURCE_BUCKET}/${c.workload.name}`;
  }
}

function rcloneSource(c: Case): string {
  switch (c.path.source) {
    case "local":
      return c.workload.dir;
    case "ssh":
      return `${RCLONE_REMOTE.ssh}:${c.workload.dir}`;
    case "s3":
      return `${RCLONE_REMOTE.s3}:${S3_SOURCE_BUCKET}/${c.workload.name}`;
  }
}

/** scp/rsync's source: a file or (with a trailing slash) the workload directory, here or on the host. */
function opensshSource(c: Case, ctx: CommandContext, file: string): string {
  const path = file ? join(c.workload.dir, file) : `${c.workload.dir}/`;
  return c.path.source === "ssh" ? `${ctx.places.sshAlias}:${path}` : path;
}

const shellQuote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/** rclone's copy started on the SSH host over ssh: the bytes go from the source to the host's disk (the host is this machine, so the config file is there too). */
function rcloneOnHost(c: Case, name: string, ctx: CommandContext): string[] {
  const remote = ["rclone", "--config", ctx.rcloneConfig, "copy", rcloneSource(c), ctx.places.onHost(name), ...RCLONE_FLAGS];
  return ["ssh", "-F", ctx.sshConfig, ctx.places.sshAlias, remote.map(shellQuote).join(" ")];
}

/** The command of one run of `c` into the fresh destination `name`. */
export function commandFor(c: Case, name: string, ctx: CommandContext): string[] {
  const destination = c.path.destination;
  switch (c.tool) {
    case "stowage":
      return [ctx.node, ctx.worker, stowageSource(c, ctx), ctx.places.stowage(destination, name)];
    case "rclone":
      if (c.path.rcloneOnHost) return rcloneOnHost(c, name, ctx);
      return ["rclone", "--config", ctx.rcloneConfig, "copy", rcloneSource(c), ctx.places.rclone(destination, name), ...RCLONE_FLAGS];
    case "scp":
      return ["scp", "-q", "-F", ctx.sshConfig, "-c", "aes128-gcm@openssh.com", opensshSource(c, ctx, "big.bin"), ctx.places.openssh(destination, name)];
    case "rsync":
      return ["rsync", "-a", "-e", `ssh -F ${ctx.sshConfig}`, opensshSource(c, ctx, ""), ctx.places.openssh(destination, name)];
  }
}
