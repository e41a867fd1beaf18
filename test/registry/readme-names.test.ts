/**
 * The README's "Names" example, run exactly as printed (only the package name is pointed at this
 * checkout's source) in a program of its own, with the team registry in an S3 bucket.
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Blob, Cluster, closeSystems, list } from "../../src/index.js";
import { expectCode } from "../../src/testing/index.js";
import { tempDir } from "../support/process.js";
import { freshLocalHome, freshTeamRegistry } from "./helpers.js";

/** The first ```ts block after a heading of the README. */
export function readmeExample(heading: string): string {
  const readme = readFileSync(join(process.cwd(), "README.md"), "utf8");
  const start = readme.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README has no "${heading}"`);
  const match = /```ts\n([\s\S]*?)```/.exec(readme.slice(start));
  if (!match) throw new Error(`no ts example under "${heading}"`);
  return match[1]!;
}

function runProgram(file: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", join(process.cwd(), "node_modules/tsx/dist/loader.mjs"), file], {
      env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, ms: Date.now() - started });
    });
  });
}

let home: string;

beforeAll(async () => {
  home = freshLocalHome();
  await freshTeamRegistry("s3");
});

afterAll(closeSystems);

describe("README: Names", () => {
  it("runs as printed, and leaves the registries as it says", async () => {
    const example = readmeExample("## Names");
    const source = example.replace(/from "stowage";/g, `from ${JSON.stringify(join(process.cwd(), "src/index.ts"))};`);
    expect(source).not.toBe(example);
    const file = join(tempDir("readme"), "names.mts");
    writeFileSync(file, source);
    const run = await runProgram(file, { ...process.env, STOWAGE_HOME: home });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);

    expect((await (await Blob.fromName("my_blob")).fetch()).toString()).toBe("weights");
    const box = await Cluster.fromName("gpu-box");
    expect([box.host, box.user, box.port]).toEqual(["10.1.2.3", "ubuntu", 22]);
    expect((await list("@/")).map((entry) => entry.name)).not.toContain("@/bert_tokenized");
    await expectCode(Blob.fromName("@/bert_tokenized"), "NotFound");
  });
});
