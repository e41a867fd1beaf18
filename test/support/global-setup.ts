/**
 * Starts every real server the suite needs, once per run, in parallel, on 127.0.0.1 with free
 * ports and temp dirs, and stops them afterwards. A server that fails to start fails the run.
 *
 * STOWAGE_TEST_SYSTEMS=s3,ssh starts only those servers (for a quick local loop together with a
 * file filter); CI always starts all of them.
 */
import type { TestProject } from "vitest/node";
import { SYSTEM_NAMES } from "../../src/systems/addresses.js";
import type { SystemName } from "../../src/systems/contract.js";
import { removeTempDirs, type RunningServer } from "./process.js";

const SERVERS: Partial<Record<SystemName, () => Promise<RunningServer>>> = {
  ssh: async () => (await import("../servers/sshd.js")).startSshd(),
  s3: async () => (await import("../servers/swift.js")).startSwift(),
  gs: async () => (await import("../servers/gcs.js")).startGcsEmulator(),
  azure: async () => (await import("../servers/azurite.js")).startAzurite(),
  github: async () => (await import("../servers/git-http.js")).startGitHttp(),
};

declare module "vitest" {
  export interface ProvidedContext {
    serverEnv: Record<string, string>;
    systemsUnderTest: SystemName[];
  }
}

function selectedSystems(): SystemName[] {
  const wanted = process.env.STOWAGE_TEST_SYSTEMS;
  if (!wanted) return [...SYSTEM_NAMES];
  if (process.env.CI) throw new Error("STOWAGE_TEST_SYSTEMS narrows the run and is refused under CI");
  return wanted.split(",").map((s): SystemName => s.trim());
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const systems = selectedSystems();
  const started: RunningServer[] = [];
  const results = await Promise.allSettled(
    systems.flatMap((system) => {
      const start = SERVERS[system];
      return start ? [start().then((server) => (started.push(server), server))] : [];
    }),
  );
  const stopAll = async () => {
    await Promise.allSettled(started.map((server) => server.stop()));
    await removeTempDirs();
  };
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failures.length > 0) {
    await stopAll();
    throw new AggregateError(
      failures.map((f) => f.reason),
      `test servers failed to start:\n${failures.map((f) => `  - ${f.reason instanceof Error ? f.reason.message : String(f.reason)}`).join("\n")}`,
    );
  }
  const env: Record<string, string> = {};
  for (const server of started) {
    Object.assign(env, server.env);
    process.stdout.write(`[servers] ${server.name} ready\n`);
  }
  project.provide("serverEnv", env);
  project.provide("systemsUnderTest", systems);
  return stopAll;
}
