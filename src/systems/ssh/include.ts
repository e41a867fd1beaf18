/**
 * Where an ssh config `Include` line points, with OpenSSH's rules for the user's config: `~/` is
 * the home directory, other relative paths are under `~/.ssh`, and `*` / `?` globs (in any path
 * component) expand to the matching files in lexical order. Files that do not exist are left out.
 */
import { readdirSync } from "node:fs";
import { isAbsolute, join } from "node:path";

/** How deep Includes may nest, as in OpenSSH (READCONF_MAX_DEPTH); deeper means a loop. */
export const MAX_INCLUDE_DEPTH = 16;

/** The files the arguments of one Include line name, in the order they are read. */
export function includedFiles(patterns: readonly string[], home: string): string[] {
  return patterns.flatMap((pattern) => expandGlob(resolveIncludePath(pattern, home)));
}

function resolveIncludePath(pattern: string, home: string): string {
  if (pattern === "~" || pattern.startsWith("~/")) return join(home, pattern.slice(1));
  return isAbsolute(pattern) ? pattern : join(home, ".ssh", pattern);
}

const hasWildcard = (text: string) => /[*?]/.test(text);

/** glob(3) for `*` and `?`: component by component, sorted, hidden names only when asked for. */
function expandGlob(path: string): string[] {
  if (!hasWildcard(path)) return [path];
  let matches = ["/"];
  for (const component of path.split("/").filter((part) => part !== "")) {
    if (!hasWildcard(component)) {
      matches = matches.map((dir) => join(dir, component));
      continue;
    }
    const pattern = globPattern(component);
    matches = matches.flatMap((dir) =>
      entriesOf(dir)
        .filter((name) => pattern.test(name) && (component.startsWith(".") || !name.startsWith(".")))
        .sort(byCodeUnits)
        .map((name) => join(dir, name)),
    );
  }
  return matches;
}

function entriesOf(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return []; // a missing or unreadable directory matches nothing, as with glob(3)
  }
}

/** File names compare case-sensitively, unlike host names. */
function globPattern(component: string): RegExp {
  const source = component
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${source}$`, "s");
}

/** strcmp order (the C locale), so the order does not depend on the machine's locale. */
function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
