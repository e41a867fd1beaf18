/** POSIX path helpers shared by every system. Paths are absolute ("/a/b"), never end in "/". */
import { StowageError } from "../errors.js";

/** Normalizes an absolute system path: collapses "//" and ".", rejects "..", drops a trailing "/". */
export function normalizePath(path: string): string {
  if (path.includes("\0")) throw new StowageError({ code: "InvalidInput", message: "path contains a NUL byte", path });
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") throw new StowageError({ code: "InvalidInput", message: "path may not contain '..'", path });
    parts.push(part);
  }
  return "/" + parts.join("/");
}

export function joinPath(base: string, ...rest: string[]): string {
  return normalizePath([base, ...rest].join("/"));
}

export function parentPath(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** The part of `path` below `root`, without a leading "/", or undefined when outside it. */
export function relativePath(root: string, path: string): string | undefined {
  if (root === "/") return path.slice(1);
  if (path === root) return "";
  return path.startsWith(root + "/") ? path.slice(root.length + 1) : undefined;
}

/**
 * Splits an object-store path into bucket and key: "/b/dir/x" → { bucket: "b", key: "dir/x" }.
 * The root "/" has an empty bucket.
 */
export function splitBucket(path: string): { bucket: string; key: string } {
  const normalized = normalizePath(path);
  const rest = normalized.slice(1);
  const slash = rest.indexOf("/");
  return slash < 0 ? { bucket: rest, key: "" } : { bucket: rest.slice(0, slash), key: rest.slice(slash + 1) };
}

/** A key prefix for listing below `key`: "" stays "", "dir" becomes "dir/". */
export function prefixOf(key: string): string {
  return key === "" ? "" : key + "/";
}
