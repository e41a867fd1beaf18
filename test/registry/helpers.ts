/** Places for registry tests: a fresh local registry per test file, fresh team registries on each system. */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { formatAddress } from "../../src/systems/addresses.js";
import type { SystemName } from "../../src/systems/contract.js";
import { loadFixture, placeOn } from "../support/places.js";
import { tempDir } from "../support/process.js";

/** The systems a team registry (and a resource's data) can live on in these tests. */
export const REGISTRY_SYSTEMS: readonly SystemName[] = ["file", "ssh", "s3", "gs", "azure"];

/** Points the local registry (STOWAGE_HOME) at a new empty directory and returns it. */
export function freshLocalHome(): string {
  const home = tempDir("home");
  process.env.STOWAGE_HOME = home;
  return home;
}

/** A new, empty folder on `system` as a URL, e.g. "s3://stowage-test/3f9c…/registry". */
export async function freshUrl(system: SystemName, leaf: string): Promise<{ url: string; path: string }> {
  const root = await (await loadFixture(system)).writableRoot!();
  const path = `${root}/${leaf}-${randomBytes(3).toString("hex")}`;
  return { url: formatAddress(placeOn(system, path)), path };
}

/** Uses a new team registry on `system` (STOWAGE_TEAM_REGISTRY) and returns its URL. */
export async function freshTeamRegistry(system: SystemName): Promise<string> {
  const { url } = await freshUrl(system, "registry");
  process.env.STOWAGE_TEAM_REGISTRY = url;
  return url;
}

export interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a TypeScript file of test/registry in a new Node process (only `env` links it to this one). */
export function runScript(script: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<ChildResult> {
  const loader = join(process.cwd(), "node_modules/tsx/dist/loader.mjs");
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", loader, join(process.cwd(), "test/registry", script), ...args], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
