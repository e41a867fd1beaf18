/** What the object stores' descriptors share: bucket-first paths and a configured default bucket. */
import { StowageError } from "../errors.js";
import type { Address } from "../address.js";
import type { StowageConfig } from "../config.js";
import type { ResourceKind, UrlContext } from "./descriptor.js";
import { normalizePath } from "./paths.js";

/** `<scheme>://<bucket>/<key>`; the key is taken literally ("#", "?", "%" are part of it). */
export function bucketAddress(system: string, what: "bucket" | "container", rest: string, { text, scheme }: UrlContext): Address {
  const path = normalizePath(rest);
  if (path === "/") {
    throw new StowageError({ code: "InvalidInput", system, message: `"${text}" names no ${what}: write ${scheme}://<${what}>/<key>` });
  }
  return { system, path };
}

/** `/<default bucket>/stowage/<kind>/<name>`, the bucket from config or `variable`. */
export function bucketDefaultPath(
  system: string,
  what: "bucket" | "container",
  variable: string,
  kind: ResourceKind,
  name: string,
  config: StowageConfig,
): string {
  const bucket = config[system]?.[what];
  if (typeof bucket !== "string" || bucket === "") {
    throw new StowageError({
      code: "InvalidInput",
      system,
      message: `no path given and no default ${what} for ${system}: pass a path or set ${variable}`,
    });
  }
  return `/${bucket}/stowage/${kind}/${name}`;
}
