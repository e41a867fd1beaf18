/**
 * The one protocol between a caller and the runner that copies on an SSH host (`remote.ts` sends,
 * `remote/runner.ts` answers). The request is one JSON document on the runner's stdin: source and
 * destination (each a path on the host or a URL), every transfer option that can cross a process
 * boundary, and the credentials of the end given as a URL. The answer is JSON lines on its stdout:
 * progress events, then the report or an error. Every message carries the protocol version; both
 * ends refuse another one with `Unsupported`.
 */
import { StowageError, type ErrorCode } from "../errors.js";
import type { ProgressEvent, SkipMode, TransferOptions, TransferReport } from "./types.js";

/** 2: source and destination became places (a path on the host or a URL), so a host can copy into itself. */
export const WIRE_PROTOCOL = 2;

/**
 * Options that stay with the caller: callbacks and signals cannot cross, the host always copies
 * itself, and what credentials it may be given is decided before they are sent.
 */
export type CallerOnlyOption = "onProgress" | "signal" | "remote" | "remoteCredentials";
export type WireOptions = Omit<TransferOptions, CallerOnlyOption>;

const isBoolean = (value: unknown): value is boolean => typeof value === "boolean";
const isNumber = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value);
const isStrings = (value: unknown): value is readonly string[] => Array.isArray(value) && value.every((item) => typeof item === "string");
const SKIP_MODES: readonly unknown[] = ["never", "size", "size-mtime", "checksum"] satisfies SkipMode[];
const isSkipMode = (value: unknown): value is SkipMode => SKIP_MODES.includes(value);

/**
 * How the runner checks each option it receives. The type demands an entry for every key of
 * `WireOptions`, so an option added to `TransferOptions` fails to compile until it is sent (here)
 * or declared caller-only (`CallerOnlyOption`): none is dropped silently.
 */
export const WIRE_OPTIONS: { readonly [K in keyof WireOptions]-?: (value: unknown) => value is NonNullable<WireOptions[K]> } = {
  deleteExtras: isBoolean,
  skip: isSkipMode,
  dryRun: isBoolean,
  files: isStrings,
  include: isStrings,
  exclude: isStrings,
  ignoreFiles: isStrings,
  includeGit: isBoolean,
  overwrite: isBoolean,
  concurrency: isNumber,
  partSize: isNumber,
  partConcurrency: isNumber,
  streams: isNumber,
  multiStreamCutoff: isNumber,
  retries: isNumber,
  verify: isBoolean,
  resume: isBoolean,
  progressInterval: isNumber,
};

export const CALLER_ONLY_OPTIONS: Readonly<Record<CallerOnlyOption, true>> = { onProgress: true, signal: true, remote: true, remoteCredentials: true };

const wireKeys = Object.keys(WIRE_OPTIONS) as Array<keyof WireOptions>;

/** The options of a transfer that go to the host (those set, each as given). */
export function wireOptions(options: TransferOptions): WireOptions {
  const picked: Record<string, unknown> = {};
  for (const key of wireKeys) if (options[key] !== undefined) picked[key] = options[key];
  return picked;
}

/**
 * One end of the copy as the runner sees it: a path on its own host (absolute, or "~/x" below the
 * login directory), or the URL of a place it reaches with the request's `env`.
 */
export type WirePlace = { path: string } | { url: string };

export interface WireRequest {
  protocol: number;
  source: WirePlace;
  destination: WirePlace;
  options: WireOptions;
  /** The credentials of the end given as a URL (`exportCredentials`): set in the runner's environment, never on disk. */
  env: Record<string, string>;
  /** Whether the caller listens to progress events: without a listener, the runner sends only the report. Absent: true. */
  progress?: boolean;
}

/** What the runner's `copy` takes for a place: a host path is never read as a URL, as decodeRequest checked. */
export function placeAddress(place: WirePlace): string {
  return "path" in place ? place.path : place.url;
}

/** A StowageError as it crosses: everything but the cause, which is reduced to the message. */
export interface WireError {
  code: ErrorCode;
  message: string;
  retryable: boolean;
  system?: string;
  operation?: string;
  path?: string;
}

type FileEvent = Extract<ProgressEvent, { type: "file" }>;
export type WireEvent = Exclude<ProgressEvent, FileEvent> | (Omit<FileEvent, "error"> & { error?: WireError });
export interface WireReport extends Omit<TransferReport, "failed"> {
  failed: Array<{ path: string; error: WireError }>;
}
export type WireMessage = { protocol: number } & ({ event: WireEvent } | { report: WireReport } | { error: WireError });

/** What a line of the runner's output says; undefined for a line that is not a message (a login script's chatter). */
export type Received = { event: ProgressEvent } | { report: TransferReport } | { error: StowageError } | undefined;

const ERROR_CODES: readonly string[] = [
  "NotFound",
  "AlreadyExists",
  "PermissionDenied",
  "Unsupported",
  "InvalidInput",
  "Conflict",
  "Unavailable",
  "RateLimited",
  "Timeout",
  "IsADirectory",
  "NotADirectory",
  "Aborted",
  "Unexpected",
] satisfies ErrorCode[];

const isHostPath = (path: string) => path.startsWith("/") || path === "~" || path.startsWith("~/");
const isUrl = (text: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(text);
const invalid = (message: string) => new StowageError({ code: "InvalidInput", operation: "transfer", message: `remote transfer request: ${message}` });

function checkProtocol(protocol: unknown, what: string): void {
  if (protocol !== WIRE_PROTOCOL) {
    throw new StowageError({
      code: "Unsupported",
      operation: "transfer",
      message: `${what} speaks remote transfer protocol ${String(protocol)}, this Stowage speaks ${WIRE_PROTOCOL}: use the same Stowage version on both ends`,
    });
  }
}

export function encodeRequest(request: Omit<WireRequest, "protocol">): string {
  return JSON.stringify({ protocol: WIRE_PROTOCOL, ...request, options: wireOptions(request.options) });
}

function decodePlace(value: unknown, end: string): WirePlace {
  if (typeof value === "object" && value !== null && Object.keys(value).length === 1) {
    const place = value as Record<string, unknown>;
    if (typeof place.path === "string" && isHostPath(place.path)) return { path: place.path };
    if (typeof place.url === "string" && isUrl(place.url)) return { url: place.url };
  }
  throw invalid(`the ${end} must be { path } (absolute or ~/ on the host) or { url }, got ${JSON.stringify(value)}`);
}

/** The request as the runner reads it: `Unsupported` for another protocol version, `InvalidInput` for anything malformed. */
export function decodeRequest(text: string): WireRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid("stdin is not one JSON document");
  }
  if (typeof parsed !== "object" || parsed === null) throw invalid("not a JSON object");
  const request = parsed as Record<string, unknown>;
  checkProtocol(request.protocol, "the caller");
  const source = decodePlace(request.source, "source");
  const destination = decodePlace(request.destination, "destination");
  const env = request.env ?? {};
  if (typeof env !== "object" || env === null || Object.values(env).some((value) => typeof value !== "string")) throw invalid("env must map names to strings");
  const options = request.options ?? {};
  if (typeof options !== "object" || options === null) throw invalid("options must be an object");
  for (const [key, value] of Object.entries(options)) {
    const check = (WIRE_OPTIONS as Record<string, ((value: unknown) => boolean) | undefined>)[key];
    if (!check) throw invalid(`unknown option ${JSON.stringify(key)}`);
    if (!check(value)) throw invalid(`option ${key} has the wrong type: ${JSON.stringify(value)}`);
  }
  const progress = request.progress ?? true;
  if (typeof progress !== "boolean") throw invalid("progress must be a boolean");
  return { protocol: WIRE_PROTOCOL, source, destination, options: options, env: env as Record<string, string>, progress };
}

export function errorToWire(error: unknown): WireError {
  const stowage =
    error instanceof StowageError
      ? error
      : new StowageError({ code: "Unexpected", operation: "transfer", message: error instanceof Error ? error.message : String(error) });
  return {
    code: stowage.code,
    message: stowage.message,
    retryable: stowage.retryable,
    ...(stowage.system !== undefined ? { system: stowage.system } : {}),
    ...(stowage.operation !== undefined ? { operation: stowage.operation } : {}),
    ...(stowage.path !== undefined ? { path: stowage.path } : {}),
  };
}

export function errorFromWire(wire: WireError): StowageError {
  const error = new StowageError({
    code: ERROR_CODES.includes(wire.code) ? wire.code : "Unexpected",
    system: wire.system,
    operation: wire.operation,
    path: wire.path,
    retryable: wire.retryable,
  });
  // The message was formatted (system, operation, path) where the error happened; keep it as it was.
  error.message = wire.message;
  return error;
}

const line = (message: WireMessage) => `${JSON.stringify(message)}\n`;

export function encodeEvent(event: ProgressEvent): string {
  const wire: WireEvent = event.type === "file" && event.error ? { ...event, error: errorToWire(event.error) } : (event as WireEvent);
  return line({ protocol: WIRE_PROTOCOL, event: wire });
}

export function encodeReport(report: TransferReport): string {
  return line({ protocol: WIRE_PROTOCOL, report: { ...report, failed: report.failed.map((f) => ({ path: f.path, error: errorToWire(f.error) })) } });
}

export function encodeError(error: unknown): string {
  return line({ protocol: WIRE_PROTOCOL, error: errorToWire(error) });
}

/** One line of the runner's output: `Unsupported` when it speaks another protocol version. */
export function decodeLine(text: string): Received {
  const trimmed = text.trim();
  if (!trimmed.startsWith("{")) return undefined;
  let message: Partial<WireMessage & { event: WireEvent; report: WireReport; error: WireError }>;
  try {
    message = JSON.parse(trimmed) as typeof message;
  } catch {
    return undefined;
  }
  checkProtocol(message.protocol, "the host's runner");
  if (message.event) {
    const event = message.event;
    return { event: event.type === "file" && event.error ? { ...event, error: errorFromWire(event.error) } : (event as ProgressEvent) };
  }
  if (message.report) {
    const report = message.report;
    return { report: { ...report, failed: report.failed.map((f) => ({ path: f.path, error: errorFromWire(f.error) })) } };
  }
  if (message.error) return { error: errorFromWire(message.error) };
  return undefined;
}
