/**
 * Starts the test servers a benchmark run needs (the same start functions the tests use) and
 * measures their CPU, so a result can say whether the emulator or the client was the limit.
 */
import { readFileSync, readdirSync } from "node:fs";
import type { RunningServer } from "../../test/support/process.js";
import { startAzurite } from "../../test/servers/azurite.js";
import { startGcsEmulator } from "../../test/servers/gcs.js";
import { startSshd } from "../../test/servers/sshd.js";
import { startSwift } from "../../test/servers/swift.js";

export type ServerName = "ssh" | "s3" | "azure" | "gs";

const STARTERS: Record<ServerName, () => Promise<RunningServer>> = {
  ssh: startSshd,
  s3: startSwift,
  azure: startAzurite,
  gs: startGcsEmulator,
};

export interface Servers {
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startServers(names: Iterable<ServerName>): Promise<Servers> {
  const running: RunningServer[] = [];
  const stop = async () => {
    await Promise.allSettled(running.map((server) => server.stop()));
  };
  try {
    for (const name of new Set(names)) running.push(await STARTERS[name]());
  } catch (error) {
    await stop();
    throw error;
  }
  return { env: Object.assign({}, ...running.map((server) => server.env)) as Record<string, string>, stop };
}

const TICKS_PER_SECOND = 100;

/** utime+stime plus the reaped children's cutime+cstime of one process, in clock ticks. */
function ownTicks(pid: number): { ticks: number; parent: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // After the command name: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
    const ticks = [11, 12, 13, 14].reduce((sum, index) => sum + Number(fields[index]), 0);
    return { ticks, parent: Number(fields[1]) };
  } catch {
    return undefined;
  }
}

export interface ServerSample {
  cpuSeconds: number;
  /** Live processes under the servers (an SSH session's sshd and its children count too). */
  processes: number;
}

/**
 * CPU used so far by every process this benchmark started, read between runs (when the measured
 * case has exited, so only the servers remain): the servers, their forked sessions and, for
 * ssh→bucket, Stowage running on the host. Live descendants are read directly; finished ones are
 * already in their parent's cutime.
 */
export function sampleServers(): ServerSample {
  const byParent = new Map<number, Array<{ pid: number; ticks: number }>>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const info = ownTicks(pid);
    if (!info) continue;
    const siblings = byParent.get(info.parent) ?? [];
    siblings.push({ pid, ticks: info.ticks });
    byParent.set(info.parent, siblings);
  }
  let ticks = 0;
  let processes = 0;
  const visit = (pid: number) => {
    for (const child of byParent.get(pid) ?? []) {
      ticks += child.ticks;
      processes++;
      visit(child.pid);
    }
  };
  visit(process.pid);
  return { cpuSeconds: ticks / TICKS_PER_SECOND, processes };
}

/**
 * The server CPU a run used. An SSH session's sshd outlives the client by a moment and its CPU
 * reaches the listener's cutime only once it is reaped, so this waits (up to 3 s) until the
 * servers are back to the processes they had before the run.
 */
export async function serverCpuSince(before: ServerSample): Promise<number> {
  const deadline = Date.now() + 3_000;
  let after = sampleServers();
  while (after.processes > before.processes && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    after = sampleServers();
  }
  return after.cpuSeconds - before.cpuSeconds;
}
