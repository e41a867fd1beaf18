/**
 * Resource names: `~/ds/bert` (or just `ds/bert`) in the local registry, `@/ds/bert` in the team
 * registry, `…@3` for one version. A name is a path of segments, each a directory in the registry's
 * folder, so the rules keep every segment a safe file name and object key on every system.
 */
import { StowageError } from "../errors.js";

export type Scope = "local" | "team";

export interface ParsedName {
  scope: Scope;
  segments: readonly string[];
  /** The version asked for with `name@N`; undefined means the latest. */
  version: number | undefined;
  /** The canonical form without version: "~/ds/bert" or "@/ds/bert". */
  name: string;
}

/** Longest name (segments and slashes), well inside every system's key and path limits. */
export const MAX_NAME_LENGTH = 200;
const MAX_SEGMENT_LENGTH = 100;
/** Letters, digits and `_ . - + = ,` in any script; no spaces, `@`, `%`, `\`, `:` or control characters. */
const SEGMENT = /^[\p{L}\p{N}_.\-+=,]+$/u;

function invalid(text: string, why: string): StowageError {
  return new StowageError({ code: "InvalidInput", operation: "name", path: text, message: `"${text}" is not a valid name: ${why}` });
}

/** Parses and validates a name; `allowVersion: false` refuses `@N` (where a version makes no sense, as in save). */
export function parseName(text: unknown, options: { allowVersion?: boolean } = {}): ParsedName {
  if (typeof text !== "string") throw invalid(String(text), "a name is a string");
  let rest = text;
  let scope: Scope = "local";
  if (rest.startsWith("@/")) {
    scope = "team";
    rest = rest.slice(2);
  } else if (rest.startsWith("~/")) {
    rest = rest.slice(2);
  }
  let version: number | undefined;
  const at = rest.lastIndexOf("@");
  if (at >= 0) {
    const number = rest.slice(at + 1);
    if (!/^[1-9][0-9]{0,8}$/.test(number)) throw invalid(text, "a version is @ followed by a number from 1");
    if (options.allowVersion === false) throw invalid(text, "a version cannot be given here");
    version = Number(number);
    rest = rest.slice(0, at);
  }
  if (rest === "") throw invalid(text, "it is empty");
  if (rest.length > MAX_NAME_LENGTH) throw invalid(text, `it is longer than ${MAX_NAME_LENGTH} characters`);
  const segments = rest.split("/");
  for (const segment of segments) {
    if (segment === "") throw invalid(text, "it has an empty segment (a leading, trailing or double /)");
    if (segment === "." || segment === "..") throw invalid(text, `"${segment}" is not allowed as a segment`);
    if (segment.length > MAX_SEGMENT_LENGTH) throw invalid(text, `a segment is longer than ${MAX_SEGMENT_LENGTH} characters`);
    if (!SEGMENT.test(segment)) throw invalid(text, "segments hold letters, digits and _ . - + = , only");
  }
  return { scope, segments, version, name: formatName(scope, segments) };
}

export function formatName(scope: Scope, segments: readonly string[]): string {
  return `${scope === "team" ? "@" : "~"}/${segments.join("/")}`;
}

/**
 * A listing prefix: "@/", "~/", "@/ds/", "ds/b". Returns the scope, the complete segments to list
 * below, and the text the names must start with.
 */
export function parsePrefix(text: string | undefined, extra: string | undefined): { scope: Scope; under: readonly string[]; startsWith: string } {
  let rest = text ?? "~/";
  let scope: Scope = "local";
  if (rest === "@" || rest.startsWith("@/")) {
    scope = "team";
    rest = rest.slice(2);
  } else if (rest === "~" || rest.startsWith("~/")) {
    rest = rest.slice(2);
  }
  rest += extra ?? "";
  if (rest.includes("@") || rest.includes("\\") || /[\u0000-\u001f\u007f]/.test(rest) || rest.startsWith("/") || rest.includes("//")) {
    throw invalid(text ?? "", "not a name prefix");
  }
  const parts = rest.split("/");
  const under = parts.slice(0, -1);
  if (under.some((segment) => segment === "." || segment === ".." || !SEGMENT.test(segment))) throw invalid(rest, "not a name prefix");
  return { scope, under, startsWith: formatName(scope, []) + rest };
}
