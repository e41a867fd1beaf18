/**
 * `stowage doctor`: what this machine is set up for. For each system, where its credentials would
 * come from (by source, never a value) and, where there is something to ask, whether it answers;
 * the registries in use; Node and Stowage versions.
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { VERSION, configPath, isStowageError, list, loadConfig, openSystem, registries } from "../../index.js";
import { printJson } from "../output.js";
import { usageError } from "./cp.js";

import { DOCTOR_USAGE as usage } from "../usage.js";

export { usage };

interface SystemReport {
  system: string;
  /** Where credentials and settings come from: variable names, file paths, never values. */
  sources: string[];
  configured: boolean;
  /** Checked against `probe`; undefined when there was nothing to ask. */
  reachable?: boolean;
  probe?: string;
  error?: string;
}

interface RegistryReport {
  scope: "local" | "team";
  url: string | undefined;
  reachable?: boolean;
  names?: number;
  error?: string;
}

const home = () => process.env.HOME || homedir();

function present(variable: string): string[] {
  return process.env[variable] ? [`$${variable}`] : [];
}

function file(path: string, label = path): string[] {
  return existsSync(path) ? [label] : [];
}

function sourcesFor(system: string): string[] {
  const config = loadConfig();
  switch (system) {
    case "file":
      return ["local disk"];
    case "ssh":
      return [
        ...present("SSH_AUTH_SOCK").map(() => "ssh-agent ($SSH_AUTH_SOCK)"),
        ...file(typeof config.ssh?.configFile === "string" ? config.ssh.configFile : join(home(), ".ssh", "config")),
        ...["id_ed25519", "id_ecdsa", "id_rsa"].flatMap((key) => file(join(home(), ".ssh", key))),
        ...present("STOWAGE_SSH_PASSPHRASE"),
      ];
    case "s3":
      return [
        ...present("AWS_ACCESS_KEY_ID"),
        ...present("AWS_PROFILE"),
        ...present("AWS_WEB_IDENTITY_TOKEN_FILE"),
        ...present("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
        ...file(process.env.AWS_SHARED_CREDENTIALS_FILE ?? join(home(), ".aws", "credentials")),
        ...file(process.env.AWS_CONFIG_FILE ?? join(home(), ".aws", "config")),
        ...present("AWS_ENDPOINT_URL_S3"),
        ...present("AWS_ENDPOINT_URL"),
        ...(config.s3?.endpoint ? ["config s3.endpoint"] : []),
      ];
    case "gs":
      return [
        ...present("GOOGLE_APPLICATION_CREDENTIALS"),
        ...file(join(home(), ".config", "gcloud", "application_default_credentials.json")),
        ...present("STORAGE_EMULATOR_HOST"),
        ...present("GOOGLE_CLOUD_PROJECT"),
      ];
    case "azure":
      return [
        ...present("AZURE_STORAGE_CONNECTION_STRING"),
        ...present("AZURE_STORAGE_ACCOUNT"),
        ...present("AZURE_STORAGE_KEY"),
        ...present("AZURE_STORAGE_SAS_TOKEN"),
        ...present("AZURE_CLIENT_ID"),
        ...(config.azure?.account ? ["config azure.account"] : []),
      ];
    case "github":
      return [...present("GITHUB_TOKEN"), ...present("GITHUB_SERVER_URL")];
    default:
      return [];
  }
}

/** Where to ask a system whether it answers: its configured default bucket or container. */
function probeFor(system: string): string | undefined {
  const config = loadConfig();
  if (system === "s3" && config.s3?.bucket) return `s3://${config.s3.bucket}`;
  if (system === "gs" && config.gs?.bucket) return `gs://${config.gs.bucket}`;
  if (system === "azure" && config.azure?.container) return `az://${config.azure.container}`;
  return undefined;
}

function failure(error: unknown): string {
  return isStowageError(error) ? `${error.code}: ${error.message}` : String(error);
}

async function checkSystem(system: string): Promise<SystemReport> {
  const sources = sourcesFor(system);
  const report: SystemReport = { system, sources, configured: system === "file" || system === "github" || sources.length > 0 };
  const probe = probeFor(system);
  if (!probe) return report;
  report.probe = probe;
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
    Promise.all(["file", "ssh", "s3", "gs", "azure", "github"].map(checkSystem)),
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
    const state = s.reachable === undefined ? (s.configured ? "configured" : "not configured") : s.reachable ? `reachable (${s.probe})` : `NOT reachable (${s.probe}): ${s.error}`;
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
