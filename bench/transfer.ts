/**
 * The transfer benchmark of issue 3: Stowage against rclone (and scp/rsync over SSH) on the same
 * local test servers, in interleaved rounds, with ratios written to bench/RESULTS.md.
 *
 *   npx tsx bench/transfer.ts [--quick] [--rounds N] [--paths local-ssh,s3-s3] …   (see --help)
 */
import { spawnSync } from "node:child_process";
import { appendFile, mkdir, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { closeSystems, copy } from "../src/index.js";
import { tempDir } from "../test/support/process.js";
import { againstScp, buildCases, commandFor, rcloneInstalled, S3_SOURCE_BUCKET, serversFor, type Case, type CommandContext } from "./transfer/cases.js";
import { parseOptions } from "./transfer/options.js";
import { Places, type Tally } from "./transfer/places.js";
import { RCLONE_FLAGS, RCLONE_REMOTE, writeRcloneConfig } from "./transfer/rclone.js";
import { renderSection, summarize, writeSection, type RunResult } from "./transfer/report.js";
import { killRunning, runCommand } from "./transfer/run-command.js";
import { sampleServers, serverCpuSince, startServers, type Servers } from "./transfer/servers.js";
import { settle } from "./transfer/settle.js";
import { createWorkloads, FULL, QUICK } from "./transfer/workload.js";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const WORKER = join(REPO, "bench/transfer/stowage-run.mjs");

/** Stowage is measured as shipped: this checkout compiled to dist/, run by plain Node (see stowage-run.mjs). */
function buildPackage(): void {
  const result = spawnSync(process.execPath, [join(REPO, "node_modules/typescript/bin/tsc"), "-p", join(REPO, "tsconfig.build.json")], { stdio: "inherit" });
  if (result.status !== 0) throw new Error(`the build (tsc -p tsconfig.build.json) failed with status ${result.status}`);
}

/** mulberry32: a small seeded PRNG, so a round's order can be reproduced. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const next = random(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const log = (line: string) => process.stdout.write(`${line}\n`);
const tallyText = (t: Tally) => `${t.files} files, ${t.bytes} bytes`;

/** The line of a failed command's stderr that says what went wrong. */
function firstError(stderr: string): string {
  const lines = stderr.trim().split("\n");
  return (lines.find((line) => /error|failed|denied|refused|not found/i.test(line)) ?? lines.at(-1) ?? "").trim();
}

/** Bucket, container and directory names: lowercase, digits and dashes, unique per run. */
function runName(c: Case, round: number): string {
  return `r${round}-${c.path.id}-${c.workload.name}-${c.tool}`.toLowerCase();
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2), process.env);
  const scale = options.quick ? QUICK : FULL;
  const started = new Date();
  const root = tempDir("bench-transfer");
  const rawFile = join(tmpdir(), `stowage-bench-transfer-${started.toISOString().replace(/[:.]/g, "-")}.jsonl`);
  let servers: Servers | undefined;
  const cleanup = async () => {
    killRunning();
    await closeSystems().catch(() => {});
    await servers?.stop();
    await rm(root, { recursive: true, force: true });
  };
  process.once("SIGINT", () => {
    log("interrupted: stopping servers");
    void cleanup().finally(() => process.exit(130));
  });

  try {
    log("building the package (dist/)");
    buildPackage();
    log(`workloads (${options.quick ? "quick" : "full"}) in ${root}`);
    const workloads = await createWorkloads(join(root, "data"), scale);
    const chosen = options.workloads.map((name) => workloads[name]);

    servers = await startServers(serversFor(options.paths));
    Object.assign(process.env, servers.env, { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" });
    const sshRoot = join(root, "ssh-dest");
    const localRoot = join(root, "local-dest");
    await Promise.all([mkdir(sshRoot), mkdir(localRoot)]);
    const places = new Places(servers.env.STOWAGE_TEST_SSH_HOST ?? "stowage-test", sshRoot, localRoot);
    const rcloneConfig = await writeRcloneConfig(root, servers.env);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      // Stowage on the SSH host (this machine) runs this checkout's runner bundle (`npm run build`).
      STOWAGE_REMOTE_COMMAND: [process.execPath, join(REPO, "dist/runner/stowage-runner.mjs")].join(" "),
      // Transfer journals of the runs stay in the benchmark's temp dir.
      XDG_CACHE_HOME: join(root, "cache"),
    };
    // rclone 1.60's s3 backend refuses to start when AWS_CA_BUNDLE is set (research A.3).
    const rcloneEnv = { ...env };
    delete rcloneEnv.AWS_CA_BUNDLE;
    const ctx: CommandContext = { places, sshConfig: servers.env.STOWAGE_SSH_CONFIG ?? "", rcloneConfig, node: process.execPath, worker: WORKER };

    const hasRclone = rcloneInstalled();
    if (!hasRclone) log("rclone is not installed: its cases are listed, not run");
    if (options.paths.some((p) => p.source === "s3")) {
      for (const workload of chosen) {
        if (!hasRclone) {
          // Without rclone, Stowage seeds the source (untimed).
          await copy(workload.dir, `s3://${S3_SOURCE_BUCKET}/${workload.name}`);
          continue;
        }
        const seeded = await runCommand(
          ["rclone", "--config", rcloneConfig, "copy", workload.dir, `${RCLONE_REMOTE.s3}:${S3_SOURCE_BUCKET}/${workload.name}`, ...RCLONE_FLAGS],
          rcloneEnv,
          30 * 60_000,
        );
        if (seeded.code !== 0) throw new Error(`seeding s3://${S3_SOURCE_BUCKET}/${workload.name} failed: ${seeded.stderr}`);
      }
      log(`seeded s3://${S3_SOURCE_BUCKET}`);
    }

    const cases = buildCases(options.paths, chosen, options.tools, hasRclone);
    const runnable = cases.filter((c) => !c.unavailable);
    for (const c of cases.filter((c) => c.unavailable)) log(`not run: ${c.key}: ${c.unavailable}`);
    const timeoutMs = (options.quick ? 3 : 20) * 60_000;
    const results: RunResult[] = [];
    // The scp cases take seconds each and swing the most, so they get more rounds (--scp-rounds).
    const roundsOf = (c: Case) => (againstScp(c.path, c.workload.name) ? Math.max(options.rounds, options.scpRounds) : options.rounds);
    const totalRuns = runnable.reduce((sum, c) => sum + roundsOf(c), 0);
    const lastRound = Math.max(...runnable.map(roundsOf));
    let done = 0;
    for (let round = 1; round <= lastRound; round++) {
      for (const c of shuffled(runnable, options.seed * 1000 + round).filter((c) => roundsOf(c) >= round)) {
        done++;
        const name = runName(c, round);
        const destination = c.path.destination;
        await places.prepare(destination, name);
        const { seconds: settleSeconds, quiet } = await settle();
        const load1 = loadavg()[0]!;
        const serverBefore = sampleServers();
        const command = commandFor(c, name, ctx);
        const outcome = await runCommand(command, c.tool === "rclone" ? rcloneEnv : env, timeoutMs);
        const serverCpu = await serverCpuSince(serverBefore);
        const result: RunResult = {
          key: c.key,
          round,
          ok: outcome.code === 0,
          seconds: outcome.seconds,
          cpuSeconds: outcome.cpuSeconds,
          serverCpuSeconds: serverCpu,
          load1,
          settleSeconds,
          quiet,
        };
        if (c.tool === "stowage" && result.ok) {
          // The worker's own timing and CPU replace the process's (Node startup and imports excluded).
          const line = outcome.stdout.trim().split("\n").at(-1) ?? "{}";
          const inner = JSON.parse(line) as { seconds: number; cpuSeconds: number; importSeconds: number; ranOn: string[]; fallback?: string };
          Object.assign(result, { seconds: inner.seconds, cpuSeconds: inner.cpuSeconds, importSeconds: inner.importSeconds, ranOn: inner.ranOn });
          if (inner.fallback) result.ranOn = [...inner.ranOn, `fallback: ${inner.fallback}`];
        }
        if (!result.ok) {
          result.error = `exit ${outcome.code}: ${firstError(outcome.stderr)}`;
          log(`  stderr of ${c.key}:\n${outcome.stderr.trim().slice(-3000)}`);
        } else {
          const landed = await places.tally(destination, name).catch((error: unknown) => ({ files: -1, bytes: -1, error }));
          if (landed.files !== c.workload.files || landed.bytes !== c.workload.bytes) {
            result.ok = false;
            result.error = `verification: expected ${c.workload.files} files, ${c.workload.bytes} bytes; found ${tallyText(landed)}${"error" in landed ? ` (${String(landed.error)})` : ""}`;
          }
        }
        const removeStarted = Date.now();
        // Swift deletes objects one by one (12–25 s per 1,000 on this machine), and keeps one
        // database per bucket, so small-file buckets stay until the server stops; the rest go now
        // to bound the disk used.
        if (!(destination === "s3" && c.workload.name === "small")) {
          await places.remove(destination, name).catch((error: unknown) => log(`  could not remove ${name}: ${String(error)}`));
        }
        const removeSeconds = (Date.now() - removeStarted) / 1000;
        results.push(result);
        await appendFile(rawFile, `${JSON.stringify(result)}\n`);
        const rate =
          c.workload.name === "big"
            ? `${(c.workload.bytes / (1 << 20) / result.seconds).toFixed(0)} MiB/s`
            : `${(c.workload.files / result.seconds).toFixed(0)} files/s`;
        log(
          `[round ${round}, ${done}/${totalRuns}] ${c.key}: ` +
            (result.ok
              ? `${result.seconds.toFixed(2)} s, ${rate}, CPU ${result.cpuSeconds.toFixed(1)} s, servers ${serverCpu.toFixed(1)} s, load ${load1.toFixed(1)}, settled ${settleSeconds.toFixed(1)} s${quiet ? "" : " (not quiet)"}`
              : `FAILED ${result.error}`) +
            ` (cleanup ${removeSeconds.toFixed(1)} s)`,
        );
      }
    }

    const wallSeconds = (Date.now() - started.getTime()) / 1000;
    const summaries = summarize(cases, results);
    const command = `npx tsx bench/transfer.ts ${process.argv.slice(2).join(" ")}`.trim();
    const section = renderSection(options.paths, chosen, summaries, results, {
      mode: options.quick ? "quick" : "full",
      rounds: options.rounds,
      scpRounds: options.scpRounds,
      seed: options.seed,
      started,
      wallSeconds,
      command,
      rawFile,
    });
    log(`\n${section}`);
    if (options.write) {
      await writeSection(join(REPO, "bench/RESULTS.md"), section);
      log("wrote the ## Transfers section of bench/RESULTS.md");
    }
  } finally {
    await cleanup();
  }
}

await main();
