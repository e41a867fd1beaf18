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

export interface StowageConfig {
  s3?: {
    endpoint?: string;
    region?: string;
    pathStyle?: boolean;
    profile?: string;
    /** Tuning: objects larger than this many bytes are copied in parts of this size (default 5 GiB). */
    copyPartSize?: number;
    /** Where resources created without a path go. */
    bucket?: string;
  };
  gs?: { project?: string; endpoint?: string; bucket?: string };
  azure?: { account?: string; endpoint?: string; container?: string };
  ssh?: {
    /**
     * How to run Stowage on a host, for copies that run there. Default `npx --yes stowage@<version>`.
     */
    remoteCommand?: string;
    /** Accept and remember host keys not yet in known_hosts. Default false: unknown keys are an error. */
    acceptNewHostKeys?: boolean;
    knownHosts?: string;
    configFile?: string;
  };
  github?: { server?: string };
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
}

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
export function loadConfig(env: NodeJS.ProcessEnv = process.env): StowageConfig {
  const file = readConfigFile(configPath(env));
  return {
    s3: {
      ...file.s3,
      ...defined({
        endpoint: env.STOWAGE_S3_ENDPOINT,
        pathStyle: flag(env.STOWAGE_S3_PATH_STYLE),
        copyPartSize: env.STOWAGE_S3_COPY_PART_SIZE ? Number(env.STOWAGE_S3_COPY_PART_SIZE) : undefined,
        bucket: env.STOWAGE_S3_BUCKET,
      }),
    },
    gs: { ...file.gs, ...defined({ bucket: env.STOWAGE_GS_BUCKET }) },
    azure: { ...file.azure, ...defined({ account: env.STOWAGE_AZURE_ACCOUNT, container: env.STOWAGE_AZURE_CONTAINER }) },
    ssh: {
      ...file.ssh,
      ...defined({
        acceptNewHostKeys: flag(env.STOWAGE_SSH_ACCEPT_NEW_HOST_KEYS),
        knownHosts: env.STOWAGE_SSH_KNOWN_HOSTS,
        configFile: env.STOWAGE_SSH_CONFIG,
        remoteCommand: env.STOWAGE_REMOTE_COMMAND,
      }),
    },
    github: { ...file.github },
    registry: { ...file.registry, ...defined({ team: env.STOWAGE_TEAM_REGISTRY }) },
    timeouts: {
      ...file.timeouts,
      ...defined({ connectSeconds: seconds(env, "STOWAGE_CONNECT_TIMEOUT"), idleSeconds: seconds(env, "STOWAGE_IDLE_TIMEOUT") }),
    },
  };
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
