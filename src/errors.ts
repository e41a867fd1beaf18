/**
 * Every failure Stowage reports is a `StowageError`: a `code` to branch on, whether retrying may
 * help, and where it happened. The provider's own error stays available as `cause`.
 */

export type ErrorCode =
  | "NotFound"
  | "AlreadyExists"
  | "PermissionDenied"
  | "Unsupported"
  | "InvalidInput"
  | "Conflict"
  | "Unavailable"
  | "RateLimited"
  | "Timeout"
  | "IsADirectory"
  | "NotADirectory"
  | "Aborted"
  | "Unexpected";

/** Codes where trying the same call again can succeed. */
const RETRYABLE_BY_DEFAULT: ReadonlySet<ErrorCode> = new Set(["Unavailable", "RateLimited", "Timeout"]);

export interface StowageErrorInit {
  code: ErrorCode;
  message?: string;
  system?: string | undefined;
  operation?: string | undefined;
  path?: string | undefined;
  retryable?: boolean | undefined;
  cause?: unknown;
}

export class StowageError extends Error {
  override readonly name = "StowageError";
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly system: string | undefined;
  readonly operation: string | undefined;
  readonly path: string | undefined;

  constructor(init: StowageErrorInit) {
    super(formatMessage(init), init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.retryable = init.retryable ?? RETRYABLE_BY_DEFAULT.has(init.code);
    this.system = init.system;
    this.operation = init.operation;
    this.path = init.path;
  }

  /** A plain object for logs and `--json` output; the cause is reduced to its message. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      system: this.system,
      operation: this.operation,
      path: this.path,
      cause: this.cause instanceof Error ? this.cause.message : this.cause,
    };
  }
}

function formatMessage(init: StowageErrorInit): string {
  const where = [init.system && `[${init.system}]`, init.operation, init.path !== undefined && JSON.stringify(init.path)].filter(Boolean).join(" ");
  const detail = init.message ?? (init.cause instanceof Error ? init.cause.message : init.code);
  return where ? `${where}: ${init.code}: ${detail}` : `${init.code}: ${detail}`;
}

export function isStowageError(value: unknown, code?: ErrorCode): value is StowageError {
  return value instanceof StowageError && (code === undefined || value.code === code);
}

/** Where an operation ran, attached to every error a system raises. */
export interface ErrorContext {
  system: string;
  operation: string;
  path?: string | undefined;
}

/**
 * Node's own error codes (fs, net, dns) mapped to ours. Shared by every system, since all of them
 * can hit a refused connection or a local file problem.
 */
export function codeFromNodeError(error: unknown): ErrorCode | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case "ENOENT":
      return "NotFound";
    case "EEXIST":
      return "AlreadyExists";
    case "ENOTEMPTY":
      return "Conflict";
    case "EACCES":
    case "EPERM":
    case "EROFS":
      return "PermissionDenied";
    case "EISDIR":
      return "IsADirectory";
    case "ENOTDIR":
      return "NotADirectory";
    case "EINVAL":
    case "ENAMETOOLONG":
      return "InvalidInput";
    case "ECONNREFUSED":
    case "ECONNRESET":
    case "EPIPE":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "EAI_AGAIN":
    case "ENOTFOUND":
    case "ECONNABORTED":
    case "ERR_STREAM_PREMATURE_CLOSE":
    case "UND_ERR_SOCKET":
      return "Unavailable";
    case "ETIMEDOUT":
    case "ESOCKETTIMEDOUT":
      return "Timeout";
    case "ABORT_ERR":
      return "Aborted";
    default:
      return undefined;
  }
}

/** Wraps anything thrown into a StowageError, keeping an existing one as it is. */
export function toStowageError(
  error: unknown,
  context: ErrorContext,
  mapProviderError?: (error: unknown) => Partial<StowageErrorInit> | undefined,
): StowageError {
  if (error instanceof StowageError) return error;
  const mapped = mapProviderError?.(error);
  const code = mapped?.code ?? codeFromNodeError(error) ?? ((error as Error)?.name === "AbortError" ? "Aborted" : "Unexpected");
  return new StowageError({
    ...context,
    ...mapped,
    code,
    cause: error,
  });
}
