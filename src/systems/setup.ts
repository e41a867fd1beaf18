/**
 * What this machine is set up for, system by system, read from the descriptors: where each would
 * find its credentials and settings (variable names and file paths, never their values) and where
 * it is worth asking whether it answers. `stowage doctor` prints it.
 */
import { homedir } from "node:os";
import { DESCRIPTORS } from "./catalog.js";
import { loadConfig } from "./config.js";

import type { SetupContext } from "./sources.js";

export interface SystemSetup {
  system: string;
  schemes: readonly string[];
  /** Where credentials and settings would come from: "$AWS_PROFILE", "~/.aws/config", never values. */
  sources: string[];
  /** Whether it can be used as things stand (local disk and public repositories need nothing). */
  configured: boolean;
  /** A place worth listing to see whether the system answers (its configured default bucket). */
  probe?: string;
}

/** Every system's setup on this machine, local disk first. */
export function describeSystems(env: NodeJS.ProcessEnv = process.env): SystemSetup[] {
  const context: SetupContext = { env, config: loadConfig(env), home: env.HOME || homedir() };
  return DESCRIPTORS.map((descriptor) => {
    const found = descriptor.setup?.(context) ?? { sources: [] };
    const setup: SystemSetup = {
      system: descriptor.name,
      schemes: descriptor.schemes,
      sources: found.sources,
      configured: descriptor.needsNoSetup === true || found.sources.length > 0,
    };
    if (found.probe !== undefined) setup.probe = found.probe;
    return setup;
  });
}
