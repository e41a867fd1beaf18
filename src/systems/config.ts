/** Stowage's settings with every system's section, as the systems' descriptors declare them. */
import { readConfig, type ConfigKeys, type StowageConfig } from "../config.js";
import { DESCRIPTORS } from "./catalog.js";

const KEYS: ConfigKeys = Object.fromEntries(DESCRIPTORS.map((d) => [d.name, d.config ?? {}]));

/** The merged configuration: the file first, `STOWAGE_*` variables on top. Read on every call. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): StowageConfig {
  return readConfig(env, KEYS);
}
