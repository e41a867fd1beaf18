/** How the CLI talks: human text or JSON on stdout, progress on stderr, exit codes from error codes. */
import { isStowageError, type ErrorCode, type ProgressEvent } from "../index.js";

const EXIT_CODES: Partial<Record<ErrorCode, number>> = {
  InvalidInput: 2,
  NotFound: 3,
  PermissionDenied: 4,
  AlreadyExists: 5,
  Unsupported: 6,
  Unavailable: 7,
  Timeout: 7,
  Aborted: 130,
};

export function exitCodeOf(error: unknown): number {
  return isStowageError(error) ? (EXIT_CODES[error.code] ?? 1) : 1;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** What to try next, per error code. */
const HINTS: Partial<Record<ErrorCode, string>> = {
  NotFound: "check the place with `stowage ls`, or the name with `stowage name ls`",
  PermissionDenied: "check the credentials this system uses: `stowage doctor`",
  Unavailable: "is the server reachable from here? `stowage doctor` checks",
  Timeout: "the server stopped answering; try again, or raise STOWAGE_IDLE_TIMEOUT",
  InvalidInput: "`stowage --help` shows the forms places and names take",
  AlreadyExists: "leave out --no-overwrite to replace it",
  Unsupported: "this system cannot do that; `stowage doctor` lists what is set up",
};

/** One line on stderr (code, message, what to do next), or the error as JSON; `debug` adds the cause chain. */
export function printError(error: unknown, options: { json: boolean; debug?: boolean }): void {
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ error: isStowageError(error) ? error.toJSON() : { message: String(error) } })}\n`);
  } else {
    const message = error instanceof Error ? error.message : String(error);
    const hint = isStowageError(error) ? HINTS[error.code] : undefined;
    process.stderr.write(`stowage: ${message}${hint ? ` (${hint})` : ""}\n`);
  }
  if (options.debug) {
    let cause: unknown = error;
    for (let depth = 0; cause !== undefined && depth < 10; depth++) {
      process.stderr.write(`${depth === 0 ? "" : "caused by: "}${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}\n`);
      cause = cause instanceof Error ? cause.cause : undefined;
    }
  }
}

const units = ["B", "KiB", "MiB", "GiB", "TiB"];
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** A one-line progress bar on stderr, redrawn on rate events; silent when stderr is not a terminal. */
export function progressBar(): (event: ProgressEvent) => void {
  if (!process.stderr.isTTY) return () => {};
  return (event) => {
    if (event.type !== "rate") return;
    const fraction = event.bytesTotal > 0 ? event.bytesDone / event.bytesTotal : 1;
    const width = 24;
    const filled = Math.round(fraction * width);
    const eta = event.etaSeconds === undefined ? "" : ` ETA ${Math.ceil(event.etaSeconds)}s`;
    const line = `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(fraction * 100).toFixed(0)}% ${formatBytes(event.bytesDone)}/${formatBytes(event.bytesTotal)} ${event.filesDone}/${event.filesTotal} files ${formatBytes(event.bytesPerSecond)}/s${eta}`;
    process.stderr.write(`\r${line.padEnd(100)}`);
    if (event.bytesDone >= event.bytesTotal && event.filesDone >= event.filesTotal) process.stderr.write("\n");
  };
}
