/**
 * A multi-stream copy killed with SIGKILL about half way, then run again: the re-run continues each
 * range from where its progress was recorded, reads only the rest, and the file arrives byte for
 * byte. What the killed copy had really written is measured on disk (the SSH host is this machine):
 * the leading bytes of each range of the part file that match the source.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { TransferReport } from "../../src/index.js";
import { splitRanges } from "../../src/transfer/multi-stream.js";
import { sha256 } from "../support/measure.js";
import { tempDir } from "../support/process.js";
import { seededBytes } from "../support/seed.js";

const MiB = 1 << 20;
const content = seededBytes(128 * MiB, 17);
const host = () => process.env.STOWAGE_TEST_SSH_HOST!;

/** Runs the child copy; resolves with how it ended and what it printed. */
function runChild(args: string[], cache: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", join(process.cwd(), "node_modules/tsx/dist/loader.mjs"), join(import.meta.dirname, "multi-stream-child.ts"), ...args],
      {
        env: { ...process.env, XDG_CACHE_HOME: cache },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 200_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Leading bytes of `range` that `part` holds as the source has them. */
function matchingPrefix(part: Buffer, range: { offset: number; length: number }): number {
  const block = 64 * 1024;
  let matched = 0;
  while (matched < range.length) {
    const length = Math.min(block, range.length - matched);
    const at = range.offset + matched;
    if (at + length > part.length) return matched + Math.max(0, part.length - at);
    if (part.subarray(at, at + length).equals(content.subarray(at, at + length))) {
      matched += length;
      continue;
    }
    let byte = 0;
    while (part[at + byte] === content[at + byte]) byte++;
    return matched + byte;
  }
  return matched;
}

describe("a multi-stream copy killed half way", () => {
  // Two ranges of 64 MiB, each half written at the kill: what dd may still hold (2 MiB) and the
  // last step not yet saved are a small part of it. Local → local disk goes through the file
  // system's own copy, never as ranges; ssh → local disk exercises the local range writer.
  const cases = [
    { name: "local → ssh", streams: 2, source: "local", destination: "ssh" },
    { name: "ssh → local disk", streams: 2, source: "ssh", destination: "local" },
  ] as const;
  for (const { name, streams, source, destination } of cases) {
    it(`resumes every range from its recorded progress, ${name}`, { timeout: 450_000 }, async () => {
      const local = tempDir("multi-kill");
      const cache = join(local, "cache");
      const sshRoot = join(process.env.STOWAGE_TEST_SSH_DIR!, `multi-kill-${randomUUID()}`);
      // The SSH host is this machine: its directories are written and read here directly.
      const fromDir = join(source === "ssh" ? sshRoot : local, "src");
      const toDir = join(destination === "ssh" ? sshRoot : local, "dst");
      await mkdir(fromDir, { recursive: true });
      await writeFile(join(fromDir, "big.bin"), content);
      const url = (side: "local" | "ssh", path: string) => (side === "ssh" ? `ssh://${host()}${path}` : path);
      const options = JSON.stringify({ streams, multiStreamCutoff: 2 * MiB, remote: "never" });
      const args = [url(source, fromDir), url(destination, toDir), options];

      const killed = await runChild([...args, String(content.length / 2)], cache);
      expect(killed.signal, killed.stderr).toBe("SIGKILL");
      // A dd on the host may still be writing what its pipe held when the caller died.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const left = await readdir(toDir);
      expect(left).toHaveLength(1);
      expect(left[0]).toMatch(/\.stowage-part$/);
      const part = await readFile(join(toDir, left[0]!));
      const written = splitRanges(content.length, streams).reduce((sum, range) => sum + matchingPrefix(part, range), 0);
      expect(written).toBeGreaterThan(content.length / 4);

      const again = await runChild(args, cache);
      expect(again.code, again.stderr).toBe(0);
      const copied = JSON.parse(again.stdout) as TransferReport["copied"];
      expect(copied).toHaveLength(1);
      const resumed = copied[0]!.resumedBytes ?? 0;
      // Only what was really there may be skipped, and little of it may be sent again.
      expect(resumed).toBeLessThanOrEqual(written);
      expect(resumed).toBeGreaterThanOrEqual(0.8 * written);
      expect(sha256(await readFile(join(toDir, "big.bin")))).toBe(sha256(content));
      expect(await readdir(toDir)).toEqual(["big.bin"]);
    });
  }
});
