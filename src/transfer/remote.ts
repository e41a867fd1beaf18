/**
 * Runs a copy out of an SSH host, or into one from a bucket, on that host, so the bytes go between
 * the host and the other end directly and this process only steers. Stowage's own runner runs
 * there (`runner-cache.ts` installs it, or `STOWAGE_REMOTE_COMMAND` replaces it); the request, with
 * the other end's credentials, reaches that one process on its stdin (`wire.ts`) and lives only in
 * its memory: never in the command line, never on the host's disk.
 */
import { StowageError, toStowageError } from "../errors.js";
import { has, need } from "../systems/extensions.js";
import type { TransferEndpoint } from "./engine.js";
import { credentialsReport, forwardCredentials } from "./forward-credentials.js";
import { STALE_RUNNER_EXIT, forgetHost, hostRunner } from "./runner-cache.js";
import type { TransferOptions, TransferReport } from "./types.js";
import { decodeLine, encodeRequest, wireOptions, type WirePlace } from "./wire.js";

/** A copy that may run on the SSH host at one of its ends: `on` names that end. */
export interface HostRoute {
  source: TransferEndpoint;
  destination: TransferEndpoint;
  on: "source" | "destination";
}

export type RemoteOutcome = { ran: true; report: TransferReport } | { ran: false; reason: string };

/** The SSH path as the host's shell sees it: "/~/x" is "~/x", relative to the login directory. */
function hostPath(path: string): string {
  if (path === "/~") return "~";
  return path.startsWith("/~/") ? `~/${path.slice(3)}` : path;
}

/**
 * Which host may run the copy, asked of what the systems have, never of their names: a source that
 * runs commands runs a copy out of it; a destination that runs commands runs a copy into it from a
 * place whose credentials it can be given. Undefined when neither (an upload from this machine) or
 * inside one system, which copies itself.
 */
export function hostRoute(source: TransferEndpoint, destination: TransferEndpoint): HostRoute | undefined {
  if (source.system.id === destination.system.id) return undefined;
  if (has(source.system, "exec")) return { source, destination, on: "source" };
  if (has(destination.system, "exec") && has(source.system, "exportCredentials")) return { source, destination, on: "destination" };
  return undefined;
}

const hostEnd = (route: HostRoute) => route[route.on];
const otherEnd = (route: HostRoute) => (route.on === "source" ? route.destination : route.source);

/** Why the copy cannot run on the host: the other end must be reachable from there with credentials this process hands over. */
function whyNot(route: HostRoute): string | undefined {
  const other = otherEnd(route).system;
  if (has(other, "exportCredentials")) return undefined;
  if (other.semantics.local) return `the ${route.on === "source" ? "destination" : "source"} is this machine`;
  if (has(other, "exec")) return "copies between two hosts stream through this machine";
  return `${other.name} credentials cannot be forwarded`;
}

/** The host's name as the report gives it: the authority of its URL. */
const hostName = (url: string) => /^[a-z][a-z0-9+.-]*:\/\/([^/]+)/i.exec(url)?.[1];

export async function runOnHost(route: HostRoute, options: TransferOptions): Promise<RemoteOutcome> {
  const reason = whyNot(route);
  if (reason) return { ran: false, reason };
  const { source, destination } = route;
  const at = hostEnd(route);
  const other = otherEnd(route);
  const host = need(at.system, "exec", "transfer", at.url);
  const target = need(other.system, "exportCredentials", "transfer", other.url);
  let runner = await hostRunner(host);
  if ("reason" in runner) return { ran: false, reason: runner.reason };
  // Read access for a source, write for a destination; Unsupported here when a scope is required but cannot be had.
  const credentials = await forwardCredentials(target, other, route.on === "source" ? "write" : "read", { host, source, options });
  if (!credentials) return { ran: false, reason: `${other.system.name} credentials of this kind cannot be forwarded to a host` };
  const place = (end: TransferEndpoint): WirePlace => (end === at ? { path: hostPath(end.path) } : { url: end.url });
  const stdin = encodeRequest({
    source: place(source),
    destination: place(destination),
    options: wireOptions(options),
    env: credentials.env,
    // Progress lines cost the host a write each (a thousand small files: ~0.4 CPU-s); only for a listener.
    progress: options.onProgress !== undefined,
  });

  let report: TransferReport | undefined;
  let failure: StowageError | undefined;
  let received = false;
  const onLine = (line: string) => {
    // Called from the channel's data events: nothing may throw out of here.
    try {
      const message = decodeLine(line);
      if (!message) return;
      received = true;
      if ("event" in message) options.onProgress?.(message.event);
      else if ("report" in message) report = message.report;
      else failure ??= message.error;
    } catch (error) {
      received = true;
      failure ??= toStowageError(error, { system: at.system.name, operation: "transfer", path: at.url });
    }
  };
  const run = async (command: string) => {
    let pending = "";
    const result = await host.exec(command, {
      stdin,
      onStdout: (chunk) => {
        pending += chunk.toString("utf8");
        const lines = pending.split("\n");
        pending = lines.pop()!;
        lines.forEach(onLine);
      },
      ...(options.signal ? { signal: options.signal } : {}),
    });
    onLine(pending);
    return result;
  };

  let result = await run(runner.command);
  if (runner.cached && result.code === STALE_RUNNER_EXIT && !received) {
    // The cached runner changed since it was checked on this connection: install it again, once.
    forgetHost(host);
    runner = await hostRunner(host);
    if ("reason" in runner) return { ran: false, reason: runner.reason };
    result = await run(runner.command);
  }
  if (report) {
    const name = hostName(at.url);
    return {
      ran: true,
      report: {
        ...report,
        source: source.url,
        destination: destination.url,
        ranOn: ["remote-host"],
        ...(name ? { host: name } : {}),
        ...credentialsReport(credentials),
      },
    };
  }
  throw (
    failure ??
    new StowageError({
      code: "Unexpected",
      system: at.system.name,
      operation: "transfer",
      path: at.url,
      message: `the copy on the host exited with ${result.code}: ${result.stderr.toString().trim()}`,
    })
  );
}
