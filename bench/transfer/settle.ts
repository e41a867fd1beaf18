/**
 * Waits before each run until the machine is quiet, so a run does not pay for the one before it:
 * the page cache's dirty pages of a 1 GiB write are flushed (`sync`), and the servers' own
 * after-work (Swift's container updates, the emulators' garbage collection) has ended. On 2 cores
 * a run shares the CPU with anything still going: in one full run, two rounds of the same 1 GiB
 * upload over SSH measured 253 and 510 MiB/s.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** The machine counts as quiet when at least this share of its CPU time was idle… */
const IDLE_SHARE = 0.9;
/** …over a window this long… */
const WINDOW_MS = 250;
/** …and the wait gives up (the run goes ahead, noting it) after this long. */
const MAX_WAIT_MS = 20_000;

/** Busy and total CPU ticks of the whole machine since boot. */
function cpuTicks(): { busy: number; total: number } {
  const fields = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
  const total = fields.slice(0, 8).reduce((sum, n) => sum + n, 0);
  return { busy: total - fields[3]! - fields[4]!, total };
}

export interface Settled {
  /** How long the wait took, in seconds. */
  seconds: number;
  /** Whether the machine became quiet before MAX_WAIT_MS. */
  quiet: boolean;
}

export async function settle(): Promise<Settled> {
  const started = Date.now();
  spawnSync("sync", { stdio: "ignore" });
  for (;;) {
    const before = cpuTicks();
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
    const after = cpuTicks();
    const total = after.total - before.total;
    const idleShare = total > 0 ? 1 - (after.busy - before.busy) / total : 1;
    const seconds = (Date.now() - started) / 1000;
    if (idleShare >= IDLE_SHARE) return { seconds, quiet: true };
    if (Date.now() - started >= MAX_WAIT_MS) return { seconds, quiet: false };
  }
}
