/**
 * `stowage doctor`: what this machine is set up for. For each system, where its credentials would
 * come from (by source, never a value) and, where there is something to ask, whether it answers;
 * the registries in use; Node and Stowage versions.
 */
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { VERSION, configPath, describeSystems, isStowageError, list, loadConfig, openSystem, registries, type SystemSetup } from "../../index.js";
import { printJson } from "../output.js";
import { usageError } from "./cp.js";

import { DOCTOR_USAGE as usage } from "../usage.js";

export { usage };

/** A system's setup (from the library's descriptors) and, where there was a place to ask, whether it answered. */
interface SystemReport extends SystemSetup {
  reachable?: boolean;
  error?: string;
}

interface RegistryReport {
  scope: "local" | "team";
  url: string | undefined;
  reachable?: boolean;
  names?: number;
  error?: string;
}

function failure(error: unknown): string {
  return isStowageError(error) ? `${error.code}: ${error.message}` : String(error);
}

async function checkSystem(setup: SystemSetup): Promise<SystemReport> {
  const report: SystemReport = { ...setup };
  const probe = setup.probe;
  if (!probe) return report;
  try {
    const opened = await openSystem(probe);
    for await (const _ of opened.list(`/${probe.split("://")[1]}`, { pageSize: 1 })) break;
    report.reachable = true;
  } catch (error) {
    report.reachable = false;
    report.error = failure(error);
  }
  return report;
}

async function checkRegistry(scope: "local" | "team", url: string | undefined): Promise<RegistryReport> {
  const report: RegistryReport = { scope, url };
  if (url === undefined) return report;
  try {
    report.names = (await list(scope === "local" ? "~/" : "@/")).length;
    report.reachable = true;
  } catch (error) {
    report.reachable = false;
    report.error = failure(error);
  }
  return report;
}

export async function doctor(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: "boolean" } } });
  if (positionals.length > 0) throw usageError(usage);
  const where = registries();
  const team = loadConfig().registry?.team || undefined;
  const [systems, local, teamReport] = await Promise.all([
    Promise.all(describeSystems().map(checkSystem)),
    checkRegistry("local", where.local),
    checkRegistry("team", team),
  ]);
  const result = {
    stowage: VERSION,
    node: process.version,
    config: { path: configPath(), exists: existsSync(configPath()) },
    systems,
    registries: [local, teamReport],
  };
  if (values.json) return printJson(result);
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`stowage ${result.stowage} on Node ${result.node}`);
  out(`config   ${result.config.path}${result.config.exists ? "" : " (none)"}`);
  out("");
  out("systems");
  for (const s of systems) {
    const state =
      s.reachable === undefined
        ? s.configured
          ? "configured"
          : "not configured"
        : s.reachable
          ? `reachable (${s.probe})`
          : `NOT reachable (${s.probe}): ${s.error}`;
    out(`  ${s.system.padEnd(7)} ${state}`);
    if (s.sources.length > 0) out(`          from ${s.sources.join(", ")}`);
  }
  out("");
  out("registries");
  for (const r of [local, teamReport]) {
    const label = r.scope === "local" ? "local ~/" : "team  @/";
    if (r.url === undefined) out(`  ${label}  not configured (set STOWAGE_TEAM_REGISTRY to a folder URL)`);
    else out(`  ${label}  ${r.url}: ${r.reachable ? `${r.names} name${r.names === 1 ? "" : "s"}` : `NOT reachable: ${r.error}`}`);
  }
}
