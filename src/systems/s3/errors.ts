/** The one place where S3 errors (AWS or S3-compatible servers) become Stowage error codes. */
import type { ErrorCode, StowageErrorInit } from "../../errors.js";

const BY_NAME: Record<string, ErrorCode> = {
  NoSuchKey: "NotFound",
  NoSuchBucket: "NotFound",
  NotFound: "NotFound",
  NoSuchUpload: "NotFound",
  AccessDenied: "PermissionDenied",
  AllAccessDisabled: "PermissionDenied",
  AccountProblem: "PermissionDenied",
  InvalidAccessKeyId: "PermissionDenied",
  SignatureDoesNotMatch: "PermissionDenied",
  ExpiredToken: "PermissionDenied",
  InvalidToken: "PermissionDenied",
  TokenRefreshRequired: "PermissionDenied",
  // No credentials found anywhere in the chain (env, profile, SSO, IMDS...).
  CredentialsProviderError: "PermissionDenied",
  // Only sent on a conditional write (If-None-Match: *): the object exists.
  PreconditionFailed: "AlreadyExists",
  ConditionalRequestConflict: "Conflict",
  BucketNotEmpty: "Conflict",
  BucketAlreadyExists: "Conflict",
  OperationAborted: "Conflict",
  NotImplemented: "Unsupported",
  SlowDown: "RateLimited",
  Throttling: "RateLimited",
  ThrottlingException: "RateLimited",
  RequestLimitExceeded: "RateLimited",
  TooManyRequestsException: "RateLimited",
  ServiceUnavailable: "Unavailable",
  InternalError: "Unavailable",
  RequestTimeout: "Timeout",
  TimeoutError: "Timeout",
  InvalidRange: "InvalidInput",
  InvalidBucketName: "InvalidInput",
  KeyTooLongError: "InvalidInput",
  InvalidArgument: "InvalidInput",
  InvalidRequest: "InvalidInput",
  EntityTooSmall: "InvalidInput",
  EntityTooLarge: "InvalidInput",
  MalformedXML: "InvalidInput",
  InvalidDigest: "InvalidInput",
  // The body the server received does not match its Content-MD5: damaged on the way, worth a retry.
  BadDigest: "Conflict",
};

/** Names whose code is not retryable in general, but which a new attempt can fix. */
const RETRYABLE_NAMES: ReadonlySet<string> = new Set(["BadDigest"]);

/**
 * A failure the s3 code detects itself (an existing object, an empty prefix...). It goes through the
 * same mapping as SDK errors, so the guard adds the system, operation and path.
 */
export class S3Failure extends Error {
  override readonly name = "S3Failure";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly options: { cause?: unknown; retryable?: boolean } = {},
  ) {
    super(message, options);
  }
}

function codeFromStatus(status: number): ErrorCode | undefined {
  if (status === 401 || status === 403) return "PermissionDenied";
  if (status === 404) return "NotFound";
  if (status === 409) return "Conflict";
  if (status === 412) return "AlreadyExists";
  if (status === 416) return "InvalidInput";
  if (status === 429) return "RateLimited";
  if (status === 501) return "Unsupported";
  if (status >= 500) return "Unavailable";
  if (status >= 400) return "InvalidInput";
  return undefined;
}

interface SdkError {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** The S3 error name ("NoSuchKey") or undefined for errors that are not from the service. */
export function s3ErrorName(error: unknown): string | undefined {
  const e = error as SdkError | null;
  return e?.Code ?? e?.name;
}

export function s3Status(error: unknown): number | undefined {
  return (error as SdkError | null)?.$metadata?.httpStatusCode;
}

/**
 * Maps an SDK error to a Stowage code. Socket errors (ECONNREFUSED...) and aborts are left to the
 * shared Node mapping by returning undefined.
 */
export function mapS3Error(error: unknown): Partial<StowageErrorInit> | undefined {
  if (error instanceof S3Failure) return { code: error.code, message: error.message, retryable: error.options.retryable };
  const name = s3ErrorName(error);
  const status = s3Status(error);
  const code = (name !== undefined ? BY_NAME[name] : undefined) ?? (status !== undefined ? codeFromStatus(status) : undefined);
  if (code === undefined) return undefined;
  const message = (error as SdkError).message;
  const detail = [name, status && `HTTP ${status}`].filter(Boolean).join(", ");
  return {
    code,
    message: message && message !== name ? `${message} (${detail})` : detail,
    ...(name !== undefined && RETRYABLE_NAMES.has(name) ? { retryable: true } : {}),
  };
}
