/**
 * What a system's descriptor looks at to say where its credentials and settings would come from:
 * the environment, the config and the home directory. Sources are named, never read out.
 */
import { existsSync } from "node:fs";
import type { StowageConfig } from "../config.js";

/** What a descriptor's `setup` is given to look at. */
export interface SetupContext {
  readonly env: NodeJS.ProcessEnv;
  readonly config: StowageConfig;
  readonly home: string;
}

/** What a descriptor's `setup` finds: its sources, and a place worth probing. */
export interface SetupFound {
  sources: string[];
  probe?: string;
}

/** The variable, as a source, when it is set. */
export function variable(context: SetupContext, name: string, label = `$${name}`): string[] {
  return context.env[name] ? [label] : [];
}

/** The file, as a source, when it exists. */
export function file(path: string, label = path): string[] {
  return existsSync(path) ? [label] : [];
}
