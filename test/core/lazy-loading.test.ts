import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { tempDir } from "../support/process.js";

const run = promisify(execFile);
const SDKS = ["@aws-sdk", "@smithy", "@google-cloud", "@azure", "ssh2", "apache-arrow", "parquet-wasm"];

/** Runs the child program and returns the node_modules packages it resolved. */
async function packagesLoadedBy(address: string): Promise<string[]> {
  const log = join(tempDir("lazy"), "resolved.txt");
  await run(process.execPath, ["--import", "tsx", "--import", "./test/support/lazy/register.mjs", "test/support/lazy/use-system.ts", address], {
    env: { ...process.env, STOWAGE_RESOLVE_LOG: log },
    cwd: process.cwd(),
  });
  const urls = readFileSync(log, "utf8").split("\n");
  return [...new Set(urls.flatMap((url) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? []))];
}

describe("module loading", () => {
  it("every system and the table engine load under Node's own ESM loader, as the CLI loads them", async () => {
    const { stdout } = await run(process.execPath, ["--import", "tsx", "test/support/lazy/load-all-systems.ts"], { cwd: process.cwd() });
    expect(stdout).toContain("loaded 6 systems");
  });
});

describe("lazy loading", () => {
  it("importing stowage and using only local files loads no provider SDK", async () => {
    const loaded = await packagesLoadedBy("file");
    expect(loaded.filter((pkg) => SDKS.some((sdk) => pkg.startsWith(sdk)))).toEqual([]);
  });

  it("opening an s3 address loads the AWS SDK (the detector sees SDKs when they load)", async () => {
    const loaded = await packagesLoadedBy("s3://some-bucket/x");
    expect(loaded.some((pkg) => pkg.startsWith("@aws-sdk"))).toBe(true);
    expect(loaded.some((pkg) => pkg.startsWith("@azure") || pkg.startsWith("@google-cloud"))).toBe(false);
  });
});

describe("the CLI's start", () => {
  async function loadedByCli(...args: string[]): Promise<string[]> {
    const log = join(tempDir("lazy-cli"), "resolved.txt");
    await run(process.execPath, ["--import", "tsx", "--import", "./test/support/lazy/register.mjs", "src/cli/main.ts", ...args], {
      env: { ...process.env, STOWAGE_RESOLVE_LOG: log },
      cwd: process.cwd(),
    });
    return readFileSync(log, "utf8").split("\n").filter(Boolean);
  }

  it("--help loads neither the library nor any SDK; ls of a local folder loads no SDK", async () => {
    const help = await loadedByCli("--help");
    expect(help.some((url) => url.includes("/src/index.ts"))).toBe(false);
    expect(help.filter((url) => SDKS.some((sdk) => url.includes(`node_modules/${sdk}`)))).toEqual([]);
    const ls = await loadedByCli("ls", tempDir("lazy-cli-ls"));
    expect(ls.some((url) => url.includes("/src/index.ts"))).toBe(true);
    expect(ls.filter((url) => SDKS.some((sdk) => url.includes(`node_modules/${sdk}`)))).toEqual([]);
  });
});
