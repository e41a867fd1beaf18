/**
 * Runs one measured command: wall time from spawn to exit, and the CPU of the command and all its
 * children (bash's `times` after the command, i.e. RUSAGE_CHILDREN of the wrapper shell).
 */
import { spawn } from "node:child_process";

export interface CommandResult {
  code: number | null;
  seconds: number;
  /** User + system CPU of the command and its descendants. */
  cpuSeconds: number;
  stdout: string;
  stderr: string;
}

/** `times` prints "0m1.234s 0m0.567s" for the shell, then the same for its children. */
function childCpu(timesOutput: string): number {
  const lines = timesOutput.trim().split("\n");
  const last = lines.at(-1) ?? "";
  return [...last.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0);
}

const MARK = "\n@@times@@\n";

/** Process groups still running, so an interrupted benchmark can end them. */
const running = new Set<number>();

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // already gone
  }
}

export function killRunning(): void {
  for (const pid of running) killGroup(pid);
}

/** Runs `argv` in its own process group, killed whole after `timeoutMs`. */
export function runCommand(argv: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const script = `"$@"; rc=$?; printf '${MARK.replace(/\n/g, "\\n")}' >&2; times >&2; exit $rc`;
    const started = process.hrtime.bigint();
    const child = spawn("/bin/bash", ["-c", script, "bench", ...argv], { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    const pid = child.pid;
    if (pid !== undefined) running.add(pid);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (pid !== undefined) killGroup(pid);
    }, timeoutMs);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (pid !== undefined) running.delete(pid);
      if (timedOut) stderr += `\ntimed out after ${timeoutMs / 1000} s`;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const at = stderr.lastIndexOf(MARK);
      const times = at >= 0 ? stderr.slice(at + MARK.length) : "";
      resolve({ code, seconds, cpuSeconds: childCpu(times), stdout, stderr: at >= 0 ? stderr.slice(0, at) : stderr });
    });
  });
}
