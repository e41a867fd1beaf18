/**
 * The credentials a copy running on an SSH host gets for its other end: only what that one copy
 * does (read a source; write a destination, listing and deleting only where the copy needs to), on
 * that bucket or container and prefix, expiring soon after the copy should be done. Each system
 * narrows them as far as its provider can (`exportCredentials`); where it cannot, the caller's own
 * go, and the report says so and why. `remoteCredentials: "scoped"` refuses that instead.
 */
import { StowageError } from "../errors.js";
import type { CredentialScope, ExportedCredentials } from "../systems/contract.js";
import type { With } from "../systems/extensions.js";
import type { TransferEndpoint } from "./engine.js";
import type { TransferOptions, TransferReport } from "./types.js";

const MINUTE = 60_000;
/** No credential lives less than this: a small copy still has time to start and retry. */
export const MIN_LIFETIME_MS = 15 * MINUTE;
/** Nor longer than this; also the lifetime when the copy's size cannot be learnt. */
export const MAX_LIFETIME_MS = 12 * 60 * MINUTE;
/**
 * The expected duration assumes this rate, and the credential lives four times as long: a copy
 * slower than 1 MiB/s may outlive it.
 */
const ASSUMED_BYTES_PER_SECOND = 4 * 1024 * 1024;
const LIFETIME_FACTOR = 4;
/** How long the host may take to size the source before the longest lifetime is used instead. */
const SIZE_PROBE_TIMEOUT_MS = 10_000;

/** How long a credential for a copy of `bytes` should live: max(15 min, 4 × expected duration), at most 12 h. */
export function credentialLifetimeMs(bytes: number | undefined): number {
  if (bytes === undefined || !Number.isFinite(bytes)) return MAX_LIFETIME_MS;
  const expectedMs = (bytes / ASSUMED_BYTES_PER_SECOND) * 1000;
  return Math.min(MAX_LIFETIME_MS, Math.max(MIN_LIFETIME_MS, Math.ceil(LIFETIME_FACTOR * expectedMs)));
}

/**
 * What the copy does at `end`, given the options it runs with. A dry run only lists, so even a
 * destination is asked for read access; a destination is listed by the skip modes,
 * `deleteExtras` and the resume journal's check of what is already there.
 */
export function credentialScope(end: TransferEndpoint, access: "read" | "write", options: TransferOptions, lifetimeMs: number): CredentialScope {
  const writes = access === "write" && options.dryRun !== true;
  if (!writes) return { path: end.path, access: "read", list: true, replace: false, delete: false, lifetimeMs };
  const deletes = options.deleteExtras === true;
  const lists = (options.skip ?? "never") !== "never" || deletes || options.resume !== false;
  return { path: end.path, access: "write", list: lists, replace: options.overwrite !== false, delete: deletes, lifetimeMs };
}

/** A system path as the host's shell reads it: "/~/x" is below the login directory. */
function shellPath(path: string): string {
  const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;
  if (path === "/~") return "~";
  return path.startsWith("/~/") ? `~/${quote(path.slice(3))}` : quote(path);
}

/** The source's size: `du` on the host when the source is there (one command, no listing here), else its stat. */
async function sourceBytes(source: TransferEndpoint, host: With<"exec">): Promise<number | undefined> {
  try {
    if (source.system === host) {
      const result = await host.exec(`du -sk -- ${shellPath(source.path)}`, { signal: AbortSignal.timeout(SIZE_PROBE_TIMEOUT_MS) });
      // The last line that starts with a number: a login script may have printed before it.
      const kib = [...result.stdout.toString().matchAll(/^(\d+)\s/gm)].at(-1)?.[1];
      return result.code === 0 && kib !== undefined ? Number(kib) * 1024 : undefined;
    }
    const stat = await source.system.stat(source.path);
    return stat.type === "file" ? stat.size : undefined;
  } catch {
    return undefined;
  }
}

export interface ForwardContext {
  /** The host that runs the copy. */
  host: With<"exec">;
  /** The copy's source (on the host, or the end being forwarded), sized for the lifetime. */
  source: TransferEndpoint;
  options: TransferOptions;
}

/**
 * The credentials of `end` (whose system is `system`) for the host: scoped to what the copy does
 * there. Undefined where they cannot be forwarded at all. `Unsupported`, before anything is copied,
 * when `remoteCredentials: "scoped"` and the provider could only hand over the caller's own.
 */
export async function forwardCredentials(
  system: With<"exportCredentials">,
  end: TransferEndpoint,
  access: "read" | "write",
  context: ForwardContext,
): Promise<ExportedCredentials | undefined> {
  const lifetimeMs = credentialLifetimeMs(await sourceBytes(context.source, context.host));
  const exported = await system.exportCredentials(credentialScope(end, access, context.options, lifetimeMs));
  if (exported && !exported.scoped && context.options.remoteCredentials === "scoped") {
    throw new StowageError({
      code: "Unsupported",
      system: system.name,
      operation: "transfer",
      path: end.url,
      message: `remoteCredentials is "scoped", but only unscoped ${system.name} credentials could be forwarded to the host: ${exported.reason ?? "no reason given"}`,
    });
  }
  return exported;
}

/** The report's account of what was forwarded. */
export function credentialsReport(exported: ExportedCredentials): Pick<TransferReport, "credentials" | "credentialsReason"> {
  return exported.scoped
    ? { credentials: "scoped" }
    : { credentials: "unscoped", credentialsReason: exported.reason ?? "the provider gave no narrower credential" };
}
