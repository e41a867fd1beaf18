/**
 * Stowage's own settings, for what no provider convention covers. Read from one JSON file
 * (`$STOWAGE_CONFIG`, else `$XDG_CONFIG_HOME/stowage/config.json`, else
 * `~/.config/stowage/config.json`) and overridden by `STOWAGE_*` environment variables.
 * Credentials never belong here: they come from each provider's own chain.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { StowageError } from "./errors.js";

export type ConfigValue = string | number | boolean | undefined;

/**
 * The merged settings: Stowage's own sections, and one section per system, keyed by its name
 * (`s3`, `ssh`, …) with the keys its descriptor declares (systems/<name>/index.ts).
 */
export interface StowageConfig {
  /** Where named resources are recorded (see docs/architecture.md, "Names"). */
  registry?: {
    /** The team registry, `@/name`: a folder URL on any system, e.g. "s3://team-bucket/stowage-registry". */
    team?: string;
  };
  /**
   * Network timeouts in seconds, like rclone's --contimeout and --timeout: a connection attempt, and
   * a connection that moves no byte either way for this long, fail with a retryable `Timeout`
   * instead of hanging. Defaults 60 and 300.
   */
  timeouts?: { connectSeconds?: number; idleSeconds?: number };
  [system: string]: Readonly<Record<string, ConfigValue>> | undefined;
}

/** A key of a system's config section, and the `STOWAGE_*` variable that overrides the file. */
export interface ConfigKey {
  readonly env?: string;
  readonly type: "string" | "boolean" | "number";
}

/** Each system's config keys, by section. */
export type ConfigKeys = Readonly<Record<string, Readonly<Record<string, ConfigKey>>>>;

export const DEFAULT_TIMEOUTS = { connectSeconds: 60, idleSeconds: 300 } as const;

/** Stowage's cache directory on this machine: default locations, transfer journals. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || join(env.HOME || homedir(), ".cache");
  return join(base, "stowage");
}

/**
 * Stowage's data directory: the local name registry lives here. `STOWAGE_HOME`, else
 * `$XDG_DATA_HOME/stowage`, else `~/.local/share/stowage`.
 */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.STOWAGE_HOME) return env.STOWAGE_HOME;
  const base = env.XDG_DATA_HOME || join(env.HOME || homedir(), ".local", "share");
  return join(base, "stowage");
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.STOWAGE_CONFIG) return env.STOWAGE_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  return join(base, "stowage", "config.json");
}

function readConfigFile(path: string): StowageConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new StowageError({ code: "InvalidInput", message: `cannot read config file ${path}`, cause: error });
  }
  try {
    return JSON.parse(text) as StowageConfig;
  } catch (error) {
    throw new StowageError({ code: "InvalidInput", message: `config file ${path} is not valid JSON`, cause: error });
  }
}

function flag(value: string | undefined): boolean | undefined {
  if (value === undefined || value === "") return undefined;
  return /^(1|true|yes|on)$/i.test(value);
}

/** Drops undefined fields, so an unset variable never hides a value from the file. */
function defined<T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

/** The merged configuration: file first, `STOWAGE_*` variables on top. Read on every call. */
export function readConfig(env: NodeJS.ProcessEnv, systems: ConfigKeys): StowageConfig {
  const file = readConfigFile(configPath(env));
  const config: StowageConfig = { ...file };
  for (const [section, keys] of Object.entries(systems)) {
    const overrides = Object.fromEntries(Object.entries(keys).map(([key, spec]) => [key, spec.env ? valueOf(env[spec.env], spec) : undefined]));
    config[section] = { ...file[section], ...defined(overrides) };
  }
  config.registry = { ...file.registry, ...defined({ team: env.STOWAGE_TEAM_REGISTRY }) };
  config.timeouts = {
    ...file.timeouts,
    ...defined({ connectSeconds: seconds(env, "STOWAGE_CONNECT_TIMEOUT"), idleSeconds: seconds(env, "STOWAGE_IDLE_TIMEOUT") }),
  };
  return config;
}

function valueOf(value: string | undefined, spec: ConfigKey): ConfigValue {
  if (value === undefined || value === "") return undefined;
  if (spec.type === "boolean") return flag(value);
  // The system that reads a number checks its range, and says which variable was wrong.
  if (spec.type === "number") return Number(value);
  return value;
}

function seconds(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const value = env[name];
  if (value === undefined || value === "") return undefined;
  const parsed = Number(value);
  if (!(parsed > 0)) throw new StowageError({ code: "InvalidInput", message: `${name} must be a positive number of seconds, got "${value}"` });
  return parsed;
}

/** The timeouts in milliseconds, defaults filled in. */
export function timeoutsMs(config: StowageConfig): { connect: number; idle: number } {
  const { connectSeconds, idleSeconds } = { ...DEFAULT_TIMEOUTS, ...config.timeouts };
  return { connect: connectSeconds * 1000, idle: idleSeconds * 1000 };
}
