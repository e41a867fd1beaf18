/**
 * The README's code blocks, and a way to run a ```ts block exactly as printed: in a Node process of
 * its own, with only the package name pointed at this checkout's source.
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../support/process.js";

export interface ReadmeBlock {
  /** The nearest heading above the block, e.g. "## Tables" ("# Stowage" for the opening). */
  heading: string;
  /** The fence's language: "ts", "sh", … */
  lang: string;
  code: string;
}

/** Every fenced code block of README.md, in order. */
export function readmeBlocks(): ReadmeBlock[] {
  const readme = readFileSync(join(process.cwd(), "README.md"), "utf8");
  const blocks: ReadmeBlock[] = [];
  let heading = "";
  for (const match of readme.matchAll(/^(#{1,6} .*)$|^```(\w*)\n([\s\S]*?)^```$/gm)) {
    if (match[1] !== undefined) heading = match[1];
    else blocks.push({ heading, lang: match[2]!, code: match[3]! });
  }
  return blocks;
}

/** The one block of `lang` under `heading`; fails if there is none or more than one (so a heading names a block). */
export function readmeBlock(heading: string, lang = "ts"): string {
  const found = readmeBlocks().filter((block) => block.heading === heading && block.lang === lang);
  if (found.length !== 1) throw new Error(`README has ${found.length} \`\`\`${lang} blocks under "${heading}", expected 1`);
  return found[0]!.code;
}

export interface ProgramRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The example as a program of this checkout: `from "stowage"` becomes this checkout's src/index.ts. */
export function asProgram(example: string): string {
  const source = example.replace(/from "stowage";/g, `from ${JSON.stringify(join(process.cwd(), "src/index.ts"))};`);
  if (source === example) throw new Error('the example imports nothing from "stowage"');
  return source;
}

/** Runs a ```ts block as printed in a new Node process (through tsx), in `cwd` with exactly `env`. */
export function runExample(example: string, options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<ProgramRun> {
  const file = join(tempDir("readme-program"), "example.mts");
  writeFileSync(file, asProgram(example));
  return runNode(["--import", join(process.cwd(), "node_modules/tsx/dist/loader.mjs"), file], options);
}

/** Runs `stowage <args>` (this checkout's CLI source, as test/cli does) in `cwd` with exactly `env`. */
export function runCli(args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<ProgramRun> {
  return runNode(["--import", join(process.cwd(), "node_modules/tsx/dist/loader.mjs"), join(process.cwd(), "src/cli/main.ts"), ...args], options);
}

function runNode(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<ProgramRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    // A program that never exits (a connection left open) fails the test instead of hanging it.
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 90_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
