/**
 * Runs a copy out of an SSH host, or into one from a bucket, on that host, so the bytes go between
 * the host and the other end directly and this process only steers. Stowage's own runner runs
 * there (`runner-cache.ts` installs it, or `STOWAGE_REMOTE_COMMAND` replaces it); the request, with
 * the other end's credentials, reaches that one process on its stdin (`wire.ts`) and lives only in
 * its memory: never in the command line, never on the host's disk.
 */
import { StowageError, toStowageError } from "../errors.js";
import type { Stat } from "../systems/contract.js";
import { has, need } from "../systems/extensions.js";
import type { TransferEndpoint } from "./engine.js";
import { credentialsReport, forwardCredentials } from "./forward-credentials.js";
import { STALE_RUNNER_EXIT, forgetHost, hostRunner, launchBeforeProbe } from "./runner-cache.js";
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
export function hostRoute(source: TransferEndpoint, destination: TransferEndpoint, sourceStat?: Stat): HostRoute | undefined {
  // A folder between two places of one host: the runner copies it there, on the host's own disk (a
  // server-side copy per file took 5 requests and a command each: 15 files/s). One file stays a
  // server-side copy, which needs no runner; other systems copy inside themselves.
  if (sameSystem(source, destination))
    return sourceStat?.type === "directory" && has(source.system, "exec") ? { source, destination, on: "source" } : undefined;
  if (has(source.system, "exec")) return { source, destination, on: "source" };
  if (has(destination.system, "exec") && has(source.system, "exportCredentials")) return { source, destination, on: "destination" };
  return undefined;
}

const sameSystem = (source: TransferEndpoint, destination: TransferEndpoint) => source.system.id === destination.system.id;
const hostEnd = (route: HostRoute) => route[route.on];
const otherEnd = (route: HostRoute) => (route.on === "source" ? route.destination : route.source);

/** Why the copy cannot run on the host: the other end must be reachable from there with credentials this process hands over. */
function whyNot(route: HostRoute): string | undefined {
  if (sameSystem(route.source, route.destination)) return undefined;
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
  const guessed = await launchBeforeProbe(host);
  let runner = guessed ?? (await hostRunner(host));
  if ("reason" in runner) return { ran: false, reason: runner.reason };
  // Both ends on the host need no credentials. Otherwise read access for a source, write for a
  // destination; Unsupported here when a scope is required but cannot be had.
  const onHost = sameSystem(source, destination);
  const credentials = onHost
    ? undefined
    : await forwardCredentials(need(other.system, "exportCredentials", "transfer", other.url), other, route.on === "source" ? "write" : "read", {
        host,
        source,
        options,
      });
  if (!onHost && !credentials) return { ran: false, reason: `${other.system.name} credentials of this kind cannot be forwarded to a host` };
  const place = (end: TransferEndpoint): WirePlace => (onHost || end === at ? { path: hostPath(end.path) } : { url: end.url });
  const stdin = encodeRequest({
    source: place(source),
    destination: place(destination),
    options: wireOptions(options),
    env: credentials?.env ?? {},
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
  // Started before any probe and not a line back: that was not this runner (no Node there, an old
  // one, no cached runner). Or the cached runner (or the Node brought there) changed since it was
  // checked on this connection. Either way: prepare the host, and start once more.
  if (!received && !options.signal?.aborted && (guessed !== undefined || (runner.cached && result.code === STALE_RUNNER_EXIT))) {
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
        ...(runner.node ? { hostNode: runner.node } : {}),
        ...(credentials ? credentialsReport(credentials) : {}),
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
