/**
 * The CLI's progress display in a real terminal (tmux): a transfer draws its bar and ends with the
 * summary; through a pipe the same command writes plain lines, with no escape codes or carriage
 * returns.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/process.js";

const session = `stowage-test-${process.pid}`;
const tmux = (...args: string[]) => execFileSync("tmux", ["-L", session, ...args], { encoding: "utf8" });

afterAll(() => {
  try {
    tmux("kill-server");
  } catch {
    // Already gone.
  }
});

function sourceTree(): string {
  const dir = join(tempDir("terminal"), "src");
  execFileSync("mkdir", ["-p", dir]);
  for (let i = 0; i < 40; i++) writeFileSync(join(dir, `f${i}.bin`), Buffer.alloc(1 << 20, i));
  return dir;
}

async function waitFor(predicate: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("timed out waiting for the terminal");
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("the progress display", () => {
  it("draws a bar and the summary on a terminal", async () => {
    const source = sourceTree();
    const command = `${process.execPath} --import tsx src/cli/main.ts cp ${source} ${source}-copy; echo "__EXIT__ $?"`;
    tmux("new-session", "-d", "-s", "cp", "-x", "160", "-y", "20", "-c", process.cwd(), command + "; sleep 30");
    let pane = "";
    await waitFor(() => (pane = tmux("capture-pane", "-p", "-t", "cp")).includes("__EXIT__"), 60_000);
    expect(pane).toContain("__EXIT__ 0");
    expect(pane).toMatch(/\[#{24}\] 100% 40\.0 MiB\/40\.0 MiB 40\/40 files/);
    expect(pane).toMatch(/copied 40 files \(40\.0 MiB\)/);
  });

  it("writes no escape codes or carriage returns into a pipe", () => {
    const source = sourceTree();
    const out = join(tempDir("terminal-pipe"), "out.txt");
    execFileSync("bash", ["-c", `${process.execPath} --import tsx src/cli/main.ts cp ${source} ${source}-copy > ${out} 2>&1`], { cwd: process.cwd() });
    const text = readFileSync(out, "utf8");
    expect(text).toMatch(/^copied 40 files \(40\.0 MiB\) in [\d.]+s \[[a-z, -]+\]\n$/);
    expect(/[\r\u001b]/.test(text)).toBe(false);
  });
});
