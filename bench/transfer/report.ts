/**
 * Turns the runs into medians and ratios and writes the `## Transfers` section of bench/RESULTS.md,
 * leaving every other section of that file as it is.
 */
import { readFile, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import type { Case, PathSpec, Tool } from "./cases.js";
import type { Workload } from "./workload.js";

export interface RunResult {
  key: string;
  round: number;
  ok: boolean;
  seconds: number;
  cpuSeconds: number;
  serverCpuSeconds: number;
  load1: number;
  /** Seconds spent waiting for a quiet machine before the run, and whether it became quiet. */
  settleSeconds: number;
  quiet: boolean;
  error?: string;
  /** Stowage only: seconds spent importing the provider modules before the clock started. */
  importSeconds?: number;
  /** Stowage only: where the copy ran (caller, server-side, remote-host). */
  ranOn?: string[];
}

export interface RunInfo {
  mode: "quick" | "full";
  rounds: number;
  /** Rounds of the cases against scp. */
  scpRounds: number;
  seed: number;
  started: Date;
  wallSeconds: number;
  command: string;
  rawFile: string;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export interface CaseSummary {
  c: Case;
  runs: number;
  failures: string[];
  /** Throughput median: MiB/s for the big file, files/s for small files. */
  rate?: number;
  rateMin?: number;
  rateMax?: number;
  cpuSeconds?: number;
  serverCpuSeconds?: number;
  ranOn?: string;
}

function throughput(workload: Workload, seconds: number): number {
  return workload.name === "big" ? workload.bytes / (1 << 20) / seconds : workload.files / seconds;
}

export function summarize(cases: readonly Case[], results: readonly RunResult[]): Map<string, CaseSummary> {
  const summaries = new Map<string, CaseSummary>();
  for (const c of cases) {
    const runs = results.filter((r) => r.key === c.key);
    const ok = runs.filter((r) => r.ok);
    const summary: CaseSummary = { c, runs: runs.length, failures: runs.filter((r) => !r.ok).map((r) => r.error ?? "failed") };
    if (ok.length > 0) {
      const rates = ok.map((r) => throughput(c.workload, r.seconds));
      summary.rate = median(rates);
      summary.rateMin = Math.min(...rates);
      summary.rateMax = Math.max(...rates);
      summary.cpuSeconds = median(ok.map((r) => r.cpuSeconds));
      summary.serverCpuSeconds = median(ok.map((r) => r.serverCpuSeconds));
      const where = [...new Set(ok.flatMap((r) => r.ranOn ?? []))];
      if (where.length > 0) summary.ranOn = where.join("+");
    }
    summaries.set(c.key, summary);
  }
  return summaries;
}

const fmt = (value: number | undefined, digits = 0): string => (value === undefined ? "–" : value.toFixed(digits));

function cell(summary: CaseSummary | undefined): string {
  if (!summary) return "";
  if (summary.c.unavailable) return "n/a¹";
  if (summary.rate === undefined) return `failed (${summary.failures.length}/${summary.runs})`;
  const failed = summary.failures.length > 0 ? ` ⚠${summary.failures.length} failed` : "";
  return `${fmt(summary.rate)} (${fmt(summary.rateMin)}–${fmt(summary.rateMax)})${failed}`;
}

/** Stowage ÷ a reference tool, when both have a median. */
function ratio(stowage: CaseSummary | undefined, reference: CaseSummary | undefined): number | undefined {
  if (stowage?.rate === undefined || reference?.rate === undefined) return undefined;
  return stowage.rate / reference.rate;
}

interface Goal {
  tool: Tool;
  target: number;
}

/** The issue's goals: ≥1.0× rclone (1.5× on small files), ≥1.0× scp aes128-gcm for the big file over SSH. */
function goalsFor(path: PathSpec, workload: Workload): Goal[] {
  const goals: Goal[] = [{ tool: "rclone", target: workload.name === "small" ? 1.5 : 1.0 }];
  if (path.destination === "ssh" && path.source === "local" && workload.name === "big") goals.push({ tool: "scp", target: 1.0 });
  // ssh→local is not one of the issue's paths: its goal is the same as the upload's, stated here.
  if (path.id === "ssh-local" && workload.name === "big") goals.push({ tool: "scp", target: 1.0 });
  return goals;
}

export function renderSection(
  paths: readonly PathSpec[],
  workloads: readonly Workload[],
  summaries: Map<string, CaseSummary>,
  results: readonly RunResult[],
  info: RunInfo,
): string {
  const loads = results.map((r) => r.load1);
  const lines: string[] = [];
  lines.push("## Transfers", "");
  if (info.mode === "quick") lines.push("**Quick validation run (`--quick`: small workloads), not the benchmark.** The full run replaces this section.", "");
  lines.push(
    `Run ${info.started.toISOString()} (${info.mode}, ${info.rounds} interleaved round${info.rounds === 1 ? "" : "s"}${info.scpRounds > info.rounds ? `, ${info.scpRounds} for the cases against scp` : ""}, seed ${info.seed}, ${fmt(info.wallSeconds / 60, 1)} min in all). ` +
      `Workloads: ${workloads.map((w) => w.label).join(" and ")}. 1-minute load average at the start of each run: median ${fmt(median(loads), 1)} (${fmt(Math.min(...loads), 1)}–${fmt(Math.max(...loads), 1)}) on ${availableParallelism()} cores.`,
    "",
    "Throughput is the median of the rounds (min–max in brackets): MiB/s for the big file, files/s for the small files. " +
      "Ratios are Stowage's median ÷ the reference's median on the same path and workload; the goal column checks the issue's goals " +
      "(≥1.0× rclone, ≥1.5× rclone on small files, ≥1.0× `scp -c aes128-gcm@openssh.com` for the big file over SSH).",
    "",
    "| path | workload | Stowage | rclone | scp | rsync | ÷ rclone | ÷ scp | ÷ rsync | goals | CPU-s Stowage / rclone | server CPU-s Stowage / rclone |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
  );
  for (const path of paths) {
    for (const workload of workloads) {
      const get = (tool: Tool) => summaries.get(`${path.id}/${workload.name}/${tool}`);
      const stowage = get("stowage");
      if (!stowage) continue;
      const ratios = (["rclone", "scp", "rsync"] as const).map((tool) => ratio(stowage, get(tool)));
      const goals = goalsFor(path, workload).map((goal) => {
        const value = ratio(stowage, get(goal.tool));
        if (value === undefined) return `${goal.tool} ≥${goal.target}: –`;
        return `${goal.tool} ≥${goal.target}: ${value >= goal.target ? "met" : "**missed**"}`;
      });
      const where = stowage.ranOn ? ` [${stowage.ranOn}]` : "";
      lines.push(
        `| ${path.label} | ${workload.label} | ${cell(stowage)}${where} | ${cell(get("rclone"))} | ${cell(get("scp"))} | ${cell(get("rsync"))} | ` +
          `${ratios.map((r) => (r === undefined ? "" : `${fmt(r, 2)}×`)).join(" | ")} | ${goals.join("; ")} | ` +
          `${fmt(stowage.cpuSeconds, 1)} / ${fmt(get("rclone")?.cpuSeconds, 1)} | ${fmt(stowage.serverCpuSeconds, 1)} / ${fmt(get("rclone")?.serverCpuSeconds, 1)} |`,
      );
    }
  }
  lines.push("");
  const notes: string[] = [];
  const unavailable = [...summaries.values()].filter((s) => s.c.unavailable);
  if (unavailable.length > 0) notes.push(`¹ Not run: ${[...new Set(unavailable.map((s) => s.c.unavailable))].join("; ")}.`);
  for (const s of summaries.values()) {
    if (s.failures.length > 0)
      notes.push(
        `\`${s.c.key}\` failed ${s.failures.length} of ${s.runs} runs: ${[...new Set(s.failures)].map((f) => f.replace(/\s+/g, " ").slice(0, 300)).join(" / ")}`,
      );
  }
  lines.push(
    "How it was measured: every case runs once per round in a seeded shuffled order, each into a fresh destination (new bucket/container, or new directory on the SSH host), " +
      `after \`sync\` and a wait until the machine's CPU is at least 90% idle over a quarter second (median wait ${fmt(median(results.map((r) => r.settleSeconds)), 1)} s; ${results.filter((r) => !r.quiet).length} runs started without a quiet machine after 20 s); ` +
      "after each run the destination's file count and bytes are verified (a mismatch counts as a failed run) and the destination is removed (small-file S3 buckets are kept until the server stops: Swift deletes objects one at a time). " +
      "Stowage runs `copy(source, destination)` in a fresh Node process from the built package (dist/, compiled by the bench first; the runner the SSH host runs for ssh→s3 and s3→ssh too), timed from before any system is opened to the end of the copy (Node startup and imports excluded), CPU from `process.cpuUsage()`. " +
      "Reference tools are timed as whole processes (startup and SSH handshake included), CPU of the process tree from the shell's `times`. " +
      '"server CPU-s" is the CPU the test servers (and, for ssh→s3 and s3→ssh, everything the SSH host ran, including Stowage\'s runner there) used during the run. ' +
      "s3→ssh: rclone runs on the SSH host too (`ssh host rclone copy …` into the host's disk), as Stowage's runner does. " +
      "rclone: `--transfers 16 --checkers 16`, 16 MiB chunks and 16 parts in flight for s3/azureblob/gcs, `--sftp-disable-hashcheck`; scp and rsync use the generated ssh config (rsync with OpenSSH's default cipher). " +
      "Stowage runs with its defaults (16 files in flight). The S3 server is OpenStack Swift (s3api), Azure is Azurite, GCS is the firebase-tools emulator: all run on the same 2 cores as the clients, so object-store ratios are emulator-bound (see `/work/shared/research/clients-and-perf.md` B.2).",
    "",
  );
  const imports = results.filter((r) => r.importSeconds !== undefined).map((r) => r.importSeconds!);
  if (imports.length > 0) {
    notes.push(
      `Importing Stowage's provider modules (excluded from Stowage's times, as in the research) took a median ${fmt(median(imports), 2)} s (${fmt(Math.min(...imports), 2)}–${fmt(Math.max(...imports), 2)}) per run.`,
    );
  }
  if (notes.length > 0) lines.push(...notes.map((n) => `- ${n}`), "");
  lines.push(
    "Rerun: `npm run bench:transfer` (or `npx tsx bench/transfer.ts`); `--quick` for 64 MiB and 1,000 files; `--rounds N`, `--scp-rounds N`, `--paths local-ssh,s3-s3`, `--workloads big|small`, `--tools stowage,rclone`, `--seed N`, `--no-write` (print only). " +
      `This run: \`${info.command}\`; raw runs in \`${info.rawFile}\` (one JSON line per run).`,
    "",
  );
  return lines.join("\n");
}

const TITLE = "# Benchmark results\n";

/** Replaces (or adds) the `## Transfers` section, keeping the rest of the file. */
export async function writeSection(file: string, section: string): Promise<void> {
  const current = await readFile(file, "utf8").catch(() => `${TITLE}\n## Tables\n\n_Not run yet._\n`);
  const start = current.search(/^## Transfers\s*$/m);
  let next: string;
  if (start < 0) {
    next = `${current.trimEnd()}\n\n${section}`;
  } else {
    const rest = current.slice(start + 1);
    const end = rest.search(/^## /m);
    next = current.slice(0, start) + section + (end < 0 ? "" : `\n${rest.slice(end)}`);
  }
  await writeFile(file, `${next.trimEnd()}\n`);
}
