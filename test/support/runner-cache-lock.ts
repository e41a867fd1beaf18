/**
 * The SSH test host is this machine, so every test file shares one runner cache
 * (~/.cache/stowage/runner), and vitest runs two files at once. Tests that remove or tamper with the
 * cached runner, and tests that count the bytes crossing the caller's connection (a reinstall sends
 * the 3 MB bundle), hold this lock, so neither sees the other's doing.
 */
import { mkdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const LOCK = join(tmpdir(), "stowage-test-runner-cache.lock");
/** A lock older than this was left by a killed run. */
const STALE_MS = 10 * 60 * 1000;

export async function lockRunnerCache(): Promise<void> {
  for (;;) {
    try {
      mkdirSync(LOCK);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const age = Date.now() - (statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > STALE_MS) rmSync(LOCK, { recursive: true, force: true });
      else await sleep(100);
    }
  }
}

export function unlockRunnerCache(): void {
  rmSync(LOCK, { recursive: true, force: true });
}

export async function withRunnerCacheLock<T>(body: () => Promise<T>): Promise<T> {
  await lockRunnerCache();
  try {
    return await body();
  } finally {
    unlockRunnerCache();
  }
}
