/**
 * Which files a transfer takes: include/exclude globs and ignore files in .gitignore syntax.
 * Paths are relative to the transfer's source root, "/"-separated, without a leading "/".
 */
import { StowageError } from "../errors.js";

interface Rule {
  regex: RegExp;
  negated: boolean;
  directoryOnly: boolean;
}

/** Translates one glob (gitignore flavour: `*`, `**`, `?`, `[…]`) to a regex source. */
function globToRegex(glob: string): string {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") {
      if (glob[i + 1] === "*") {
        // "**/" matches zero or more directories; a trailing "**" matches everything below.
        const slash = glob[i + 2] === "/";
        out += slash ? "(?:.*/)?" : ".*";
        i += slash ? 2 : 1;
      } else out += "[^/]*";
    } else if (c === "?") out += "[^/]";
    else if (c === "[") {
      const close = glob.indexOf("]", i + 1);
      if (close < 0) out += "\\[";
      else {
        out += `[${glob
          .slice(i + 1, close)
          .replace(/^!/, "^")
          .replace(/\\/g, "\\\\")}]`;
        i = close;
      }
    } else if (c === "\\" && i + 1 < glob.length) out += `\\${glob[++i]}`;
    else out += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return out;
}

/** Parses gitignore-style lines: comments, blank lines, `!negation`, `/anchored`, `dir/`. */
export function parseRules(lines: readonly string[]): Rule[] {
  const rules: Rule[] = [];
  for (const raw of lines) {
    let line = raw.replace(/(?<!\\)\s+$/, "");
    if (line === "" || line.startsWith("#")) continue;
    const negated = line.startsWith("!");
    if (negated) line = line.slice(1);
    const directoryOnly = line.endsWith("/");
    if (directoryOnly) line = line.slice(0, -1);
    // A pattern with a "/" (other than at the end) is anchored at the root; otherwise it matches at any depth.
    const anchored = line.includes("/");
    const body = globToRegex(line.replace(/^\//, ""));
    rules.push({ regex: new RegExp(`^${anchored ? "" : "(?:.*/)?"}${body}$`), negated, directoryOnly });
  }
  return rules;
}

/** The last matching rule decides, as in git; a file under an ignored directory is ignored too. */
function ignoredBy(rules: readonly Rule[], path: string): boolean {
  const parts = path.split("/");
  for (let depth = 1; depth <= parts.length; depth++) {
    const candidate = parts.slice(0, depth).join("/");
    const isDirectory = depth < parts.length;
    let ignored = false;
    for (const rule of rules) {
      if (rule.directoryOnly && !isDirectory) continue;
      if (rule.regex.test(candidate)) ignored = !rule.negated;
    }
    if (ignored) return true;
  }
  return false;
}

export interface FilterOptions {
  /** Only files matching one of these globs are taken (all files when empty). */
  include?: readonly string[];
  /** Files matching any of these globs are left out. */
  exclude?: readonly string[];
  /** Contents of ignore files (.gitignore syntax), already read. */
  ignore?: readonly string[];
  /** Take `.git/` directories too. Default false: repository internals are rarely what is meant. */
  includeGit?: boolean;
}

export type PathFilter = (relativePath: string) => boolean;

export function createFilter(options: FilterOptions = {}): PathFilter {
  const check = (globs: readonly string[] | undefined, kind: string) => {
    for (const glob of globs ?? []) {
      if (typeof glob !== "string" || glob.trim() === "") throw new StowageError({ code: "InvalidInput", message: `empty ${kind} pattern` });
    }
  };
  check(options.include, "include");
  check(options.exclude, "exclude");
  const include = options.include?.length ? parseRules(options.include) : undefined;
  const exclude = parseRules([...(options.includeGit ? [] : [".git/"]), ...(options.exclude ?? []), ...(options.ignore ?? [])]);
  return (path) => (!include || ignoredBy(include, path)) && !ignoredBy(exclude, path);
}
