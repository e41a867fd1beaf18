/**
 * What a PLACE argument may be on the command line: a URL, a local path, a saved name (`@/x`, or
 * `~/x` when such a name is saved), or a saved cluster's path as `gpu-box:/data` (scp's form).
 */
import { Table, isStowageError, isSystemName, load, type NamedResource } from "../../index.js";

/** The URL of a saved resource's data. */
export async function urlOf(resource: NamedResource): Promise<string> {
  if (resource instanceof Table) return resource.url();
  if ("url" in resource) return resource.url;
  const user = resource.user ? `${encodeURIComponent(resource.user)}@` : "";
  return `ssh://${user}${resource.host}${resource.port ? `:${resource.port}` : ""}/`;
}

/** Web URLs, like the systems own schemes, are never `host:/path`. */
const WEB_SCHEMES = new Set(["http", "https"]);

export async function placeArg(text: string): Promise<string> {
  if (text.startsWith("@/")) return urlOf(await load(text));
  if (text.startsWith("~/")) {
    try {
      return await urlOf(await load(text));
    } catch (error) {
      // Not a saved name (or not a valid one): the shell's ~/path, as ssh and cp take it.
      if (isStowageError(error, "NotFound") || isStowageError(error, "InvalidInput")) return text;
      throw error;
    }
  }
  const hostPath = /^([A-Za-z0-9_][A-Za-z0-9_.-]*):(\/.*)$/.exec(text);
  if (hostPath && !isSystemName(hostPath[1]!) && !WEB_SCHEMES.has(hostPath[1]!.toLowerCase()) && !hostPath[2]!.startsWith("//")) {
    return `ssh://${hostPath[1]}${hostPath[2]}`;
  }
  return text;
}
