/** Local disk: `file:///abs/path`, or any plain path (relative paths resolve against the cwd). */
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { cacheDir } from "../../config.js";
import type { SystemDescriptor } from "../descriptor.js";

import { normalizePath } from "../paths.js";

/** A local path as the user typed it: "~" and "~/x" are the home directory, the rest is cwd-relative. */
export function resolveLocal(path: string, cwd: string): string {
  if (path === "~") return homedir();
  if (path.startsWith("~/")) return resolve(homedir(), path.slice(2));
  return resolve(cwd, path);
}

export const descriptor: SystemDescriptor = {
  name: "file",
  schemes: ["file", "local"],
  packages: [],
  needsNoSetup: true,
  setup: () => ({ sources: ["local disk"] }),
  load: async () => (await import("./system.js")).createFileSystem,
  // Only file:// URLs are percent-decoded.
  parseUrl: (_rest, { text }) => ({ system: "file", path: normalizePath(fileURLToPath(text)) }),
  normalize: (address, cwd) => ({ ...address, path: normalizePath(resolveLocal(address.path, cwd)) }),
  format: (address) => address.path,
  connectionKey: () => "file",
  defaultPath: (kind, name) => join(cacheDir(), kind, name),
};
