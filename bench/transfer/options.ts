/** Command-line options of bench/transfer.ts (each also settable by an environment variable). */
import { parseArgs } from "node:util";
import { PATHS, TOOLS, type PathSpec, type Tool } from "./cases.js";
import type { WorkloadName } from "./workload.js";

export interface BenchOptions {
  quick: boolean;
  rounds: number;
  /** Rounds of the cases measured against scp (the 1 GiB file over SSH), when more than --rounds. */
  scpRounds: number;
  seed: number;
  paths: PathSpec[];
  workloads: WorkloadName[];
  tools: Tool[];
  write: boolean;
}

export const USAGE = `usage: npx tsx bench/transfer.ts [options]
  --quick              64 MiB and 1,000 files instead of 1 GiB and 10,000 (BENCH_QUICK=1)
  --rounds N           interleaved rounds, default 3, or 1 with --quick (BENCH_ROUNDS)
  --scp-rounds N       rounds of the 1 GiB file over SSH (the scp cases, a few seconds each),
                       default 5, or 1 with --quick; never fewer than --rounds (BENCH_SCP_ROUNDS)
  --paths a,b          of ${PATHS.map((p) => p.id).join(", ")} (BENCH_PATHS; default all)
  --workloads a,b      big, small (BENCH_WORKLOADS; default both)
  --tools a,b          of ${TOOLS.join(", ")} (BENCH_TOOLS; default all)
  --seed N             shuffle seed, default 1 (BENCH_SEED)
  --no-write           print the results, leave bench/RESULTS.md alone`;

function list<T extends string>(value: string | undefined, known: readonly T[], what: string): T[] | undefined {
  if (!value) return undefined;
  const items = value
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
  for (const item of items) if (!known.includes(item as T)) throw new Error(`unknown ${what} "${item}"; known: ${known.join(", ")}`);
  return items as T[];
}

function count(value: string | undefined, fallback: number, what: string): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what} must be a positive integer, got "${value}"`);
  return n;
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean" },
      rounds: { type: "string" },
      "scp-rounds": { type: "string" },
      paths: { type: "string" },
      workloads: { type: "string" },
      tools: { type: "string" },
      seed: { type: "string" },
      "no-write": { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const pathIds = list(
    values.paths ?? env.BENCH_PATHS,
    PATHS.map((p) => p.id),
    "path",
  );
  const quick = values.quick ?? /^(1|true|yes)$/i.test(env.BENCH_QUICK ?? "");
  return {
    quick,
    // One quick round validates the whole matrix in a few minutes; medians need the full run.
    rounds: count(values.rounds ?? env.BENCH_ROUNDS, quick ? 1 : 3, "--rounds"),
    scpRounds: count(values["scp-rounds"] ?? env.BENCH_SCP_ROUNDS, quick ? 1 : 5, "--scp-rounds"),
    seed: count(values.seed ?? env.BENCH_SEED, 1, "--seed"),
    paths: pathIds ? PATHS.filter((p) => pathIds.includes(p.id)) : [...PATHS],
    workloads: list<WorkloadName>(values.workloads ?? env.BENCH_WORKLOADS, ["big", "small"], "workload") ?? ["big", "small"],
    tools: list(values.tools ?? env.BENCH_TOOLS, TOOLS, "tool") ?? [...TOOLS],
    write: !values["no-write"],
  };
}
