/**
 * Runs a copy out of an SSH host on that host, so the bytes go from the host straight to their
 * destination and this process only steers. Stowage's own runner runs there (`runner-cache.ts`
 * installs it, or `STOWAGE_REMOTE_COMMAND` replaces it); the request, with the destination's
 * credentials, reaches that one process on its stdin (`wire.ts`) and lives only in its memory:
 * never in the command line, never on the host's disk.
 */
import { StowageError, toStowageError } from "../errors.js";
import { has, need } from "../systems/extensions.js";
import type { TransferEndpoint } from "./engine.js";
import { STALE_RUNNER_EXIT, forgetHost, hostRunner } from "./runner-cache.js";
import type { TransferOptions, TransferReport } from "./types.js";
import { decodeLine, encodeRequest, wireOptions } from "./wire.js";

export type RemoteOutcome = { ran: true; report: TransferReport } | { ran: false; reason: string };

/** The SSH path as the host's shell sees it: "/~/x" is "~/x", relative to the login directory. */
function hostPath(path: string): string {
  if (path === "/~") return "~";
  return path.startsWith("/~/") ? `~/${path.slice(3)}` : path;
}

/** Why the copy cannot run on the source's host, asked of what the systems have, never of their names. */
function whyNot(source: TransferEndpoint, destination: TransferEndpoint): string | undefined {
  if (!has(source.system, "exec")) return "the host cannot run commands";
  if (has(destination.system, "exportCredentials")) return undefined;
  if (destination.system.semantics.local) return "the destination is this machine";
  if (has(destination.system, "exec")) return "copies between two hosts stream through this machine";
  return `${destination.system.name} credentials cannot be forwarded`;
}

export async function runOnHost(source: TransferEndpoint, destination: TransferEndpoint, options: TransferOptions): Promise<RemoteOutcome> {
  const reason = whyNot(source, destination);
  if (reason) return { ran: false, reason };
  const host = need(source.system, "exec", "transfer", source.url);
  const target = need(destination.system, "exportCredentials", "transfer", destination.url);
  let runner = await hostRunner(host);
  if ("reason" in runner) return { ran: false, reason: runner.reason };
  const credentials = await target.exportCredentials();
  if (!credentials) return { ran: false, reason: `${destination.system.name} credentials of this kind cannot be forwarded to a host` };
  const stdin = encodeRequest({ source: hostPath(source.path), destination: destination.url, options: wireOptions(options), env: credentials });

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
      failure ??= toStowageError(error, { system: source.system.name, operation: "transfer", path: source.url });
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
    const host = (source.url.match(/^ssh:\/\/([^/]+)/) ?? [])[1];
    return { ran: true, report: { ...report, source: source.url, destination: destination.url, ranOn: ["remote-host"], ...(host ? { host } : {}) } };
  }
  throw (
    failure ??
    new StowageError({
      code: "Unexpected",
      system: source.system.name,
      operation: "transfer",
      path: source.url,
      message: `the copy on the host exited with ${result.code}: ${result.stderr.toString().trim()}`,
    })
  );
}
