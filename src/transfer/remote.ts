/**
 * Runs a copy out of an SSH host on that host, so the bytes go from the host straight to their
 * destination and this process only steers. Stowage's own CLI runs there (`npx stowage` by
 * default); the destination's credentials reach that one command on its stdin and live only in its
 * memory: never in the command line, never on the host's disk.
 */
import { loadConfig } from "../systems/config.js";
import { StowageError, type ErrorCode } from "../errors.js";
import { VERSION } from "../version.js";
import type { ExecResult } from "../systems/contract.js";
import { has, need, type With } from "../systems/extensions.js";
import type { TransferEndpoint } from "./engine.js";
import type { ProgressEvent, TransferOptions, TransferReport } from "./types.js";

export type RemoteOutcome = { ran: true; report: TransferReport } | { ran: false; reason: string };

const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

/** The SSH path as the host's shell sees it: "/~/x" is "~/x", relative to the login directory. */
function hostPath(path: string): string {
  if (path === "/~") return "~";
  return path.startsWith("/~/") ? `~/${path.slice(3)}` : path;
}

export function remoteCommand(): string {
  return (loadConfig().ssh?.remoteCommand as string | undefined) ?? `npx --yes stowage@${VERSION}`;
}

function cliArguments(source: TransferEndpoint, destination: TransferEndpoint, options: TransferOptions): string[] {
  const args = ["cp", "--events", "--credentials-stdin", "--remote", "never"];
  if (options.dryRun) args.push("--dry-run");
  for (const glob of options.include ?? []) args.push("--include", glob);
  for (const glob of options.exclude ?? []) args.push("--exclude", glob);
  for (const name of options.ignoreFiles ?? []) args.push("--ignore-file", name);
  if (options.includeGit) args.push("--include-git");
  if (options.skip) args.push("--skip", options.skip);
  if (options.deleteExtras) args.push("--delete-extras");
  if (options.overwrite === false) args.push("--no-overwrite");
  if (options.concurrency) args.push("--concurrency", String(options.concurrency));
  args.push(hostPath(source.path), destination.url);
  return args;
}

/** A StowageError as the CLI prints it (`StowageError.toJSON`). */
interface ErrorJson {
  code?: string;
  message?: string;
  system?: string | undefined;
  operation?: string | undefined;
  path?: string | undefined;
  retryable?: boolean;
}

/** Rebuilds a StowageError sent as JSON by the remote CLI. */
function errorFrom(json: ErrorJson): StowageError {
  return new StowageError({
    code: (json.code ?? "Unexpected") as ErrorCode,
    message: json.message ?? "the copy on the host failed",
    system: json.system,
    operation: json.operation,
    path: json.path,
    retryable: json.retryable,
  });
}

/** Why the copy cannot run on the source's host, asked of what the systems have, never of their names. */
function whyNot(source: TransferEndpoint, destination: TransferEndpoint): string | undefined {
  if (!has(source.system, "exec")) return "the host cannot run commands";
  if (has(destination.system, "exportCredentials")) return undefined;
  if (destination.system.semantics.local) return "the destination is this machine";
  if (has(destination.system, "exec")) return "copies between two hosts stream through this machine";
  return `${destination.system.name} credentials cannot be forwarded`;
}

/** Whether a host runs Stowage, asked once per host connection and command. */
const probes = new WeakMap<object, Map<string, Promise<ExecResult>>>();

function probe(system: With<"exec">, command: string): Promise<ExecResult> {
  let byCommand = probes.get(system);
  if (!byCommand) probes.set(system, (byCommand = new Map()));
  let result = byCommand.get(command);
  if (!result) {
    result = system.exec(`${command} --version`).catch((error: unknown) => ({ code: -1, stdout: Buffer.alloc(0), stderr: Buffer.from(String(error)) }));
    byCommand.set(command, result);
  }
  return result;
}

export async function runOnHost(source: TransferEndpoint, destination: TransferEndpoint, options: TransferOptions): Promise<RemoteOutcome> {
  const reason = whyNot(source, destination);
  if (reason) return { ran: false, reason };
  const host = need(source.system, "exec", "transfer", source.url);
  const target = need(destination.system, "exportCredentials", "transfer", destination.url);
  const command = remoteCommand();
  const probed = await probe(host, command);
  if (probed.code !== 0) {
    const detail = probed.stderr.toString().trim().split("\n").at(-1) ?? "";
    return {
      ran: false,
      reason: `Stowage does not run on the host (\`${command} --version\` failed: ${detail}); install Node.js 20+ there, or set STOWAGE_REMOTE_COMMAND`,
    };
  }
  const credentials = await target.exportCredentials();
  if (!credentials) return { ran: false, reason: `${destination.system.name} credentials of this kind cannot be forwarded to a host` };

  let report: TransferReport | undefined;
  let failure: StowageError | undefined;
  let pending = "";
  const onLine = (line: string) => {
    if (!line.trim()) return;
    const message = JSON.parse(line) as {
      event?: ProgressEvent;
      report?: Omit<TransferReport, "failed"> & { failed: Array<{ path: string; error: ErrorJson }> };
      error?: ErrorJson;
    };
    if (message.event) {
      const event = message.event;
      options.onProgress?.(event.type === "file" && event.error ? { ...event, error: errorFrom(event.error) } : event);
    } else if (message.report) {
      report = { ...message.report, failed: message.report.failed.map((f) => ({ path: f.path, error: errorFrom(f.error) })) };
    } else if (message.error) failure = errorFrom(message.error);
  };
  const result = await host.exec(`${command} ${cliArguments(source, destination, options).map(quote).join(" ")}`, {
    stdin: JSON.stringify({ env: credentials, ...(options.files ? { files: options.files } : {}) }),
    onStdout: (chunk) => {
      pending += chunk.toString("utf8");
      const lines = pending.split("\n");
      pending = lines.pop()!;
      lines.forEach(onLine);
    },
    ...(options.signal ? { signal: options.signal } : {}),
  });
  onLine(pending);
  if (report) {
    const host = (source.url.match(/^ssh:\/\/([^/]+)/) ?? [])[1];
    return { ran: true, report: { ...report, source: source.url, destination: destination.url, ranOn: ["remote-host"], ...(host ? { host } : {}) } };
  }
  throw (
    failure ??
    new StowageError({
      code: "Unexpected",
      system: "ssh",
      operation: "transfer",
      path: source.url,
      message: `the copy on the host exited with ${result.code}: ${result.stderr.toString().trim()}`,
    })
  );
}
