/**
 * A GitHub repository at a ref, read-only: `github://<owner>/<repo>[@<ref>]/<path>`, or the web URL
 * `https://github.com/<owner>/<repo>/tree/<ref>/<path>` (GitHub Enterprise: GITHUB_SERVER_URL).
 */
import { StowageError } from "../../errors.js";
import type { Address } from "../../address.js";
import type { SystemDescriptor } from "../descriptor.js";
import { variable } from "../sources.js";

import { normalizePath } from "../paths.js";

export interface GithubConfig {
  server: string;
}

/** https://github.com/owner/repo[/tree/<ref>/<path>]; undefined for a URL of another server. */
function parseWebUrl(url: URL): Address | undefined {
  const server = `${url.protocol}//${url.host}`;
  const enterprise = process.env.GITHUB_SERVER_URL?.replace(/\/+$/, "");
  if (url.host !== "github.com" && server !== enterprise) return undefined;
  const [owner, repo, kind, ...rest] = decodeURIComponent(url.pathname).split("/").filter(Boolean);
  if (!owner || !repo) throw new StowageError({ code: "InvalidInput", message: `no owner/repo in "${url.href}"` });
  const name = repo.replace(/\.git$/, "");
  // In /tree/<ref>/<path> a ref may itself hold "/"; the github system resolves it against the refs.
  const tail = (kind === "tree" || kind === "blob") && rest.length > 0 ? `@${rest.join("/")}` : "";
  const address: Address = { system: "github", path: normalizePath(`/${owner}/${name}${tail}`) };
  if (url.host !== "github.com") address.server = server;
  return address;
}

export const descriptor: SystemDescriptor = {
  name: "github",
  schemes: ["github"],
  packages: [],
  addressOptions: ["server"],
  needsNoSetup: true,
  setup: (context) => ({ sources: [...variable(context, "GITHUB_TOKEN"), ...variable(context, "GITHUB_SERVER_URL")] }),
  config: { server: { type: "string" } },
  load: async () => (await import("./system.js")).createGithubSystem,
  parseUrl: (rest) => ({ system: "github", path: normalizePath(rest) }),
  parseWebUrl,
  normalize: (address) => address,
  format: (address) => `github://${address.path.slice(1)}`,
  connectionKey: (address) => `github:${address.server ?? ""}`,
  defaultPath: () => {
    throw new StowageError({ code: "InvalidInput", system: "github", message: "github is read-only: give the path of an existing resource" });
  },
};
