/** What the git transport throws, and the one function that maps it to Stowage error codes. */
import type { ErrorCode, StowageErrorInit } from "../../errors.js";

/**
 * A failure this system detects itself (missing path, unknown ref, read-only). Thrown as a plain
 * error so the guard adds the system, operation and path when it maps it.
 */
export class GithubError extends Error {
  override readonly name = "GithubError";
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A non-2xx HTTP answer from the git server. */
export class GitHttpError extends Error {
  override readonly name = "GitHttpError";
  constructor(
    readonly status: number,
    readonly url: string,
    detail: string,
  ) {
    super(`HTTP ${status} from ${url}${detail ? `: ${detail}` : ""}`);
  }
}

/** The server spoke git but said something wrong or unexpected: an `ERR` line, a bad pack. */
export class GitProtocolError extends Error {
  override readonly name = "GitProtocolError";
}

// upload-pack's words for a wanted object it does not have (or will not serve).
const MISSING_OBJECT = /\bnot our ref\b|\bno such (ref|object)\b|\bnot a valid object\b/i;

export function mapGitError(error: unknown): Partial<StowageErrorInit> | undefined {
  if (error instanceof GithubError) return { code: error.code, message: error.message };
  if (error instanceof GitHttpError) {
    if (error.status === 404) return { code: "NotFound", message: error.message };
    if (error.status === 401 || error.status === 403) return { code: "PermissionDenied", message: error.message };
    if (error.status === 429) return { code: "RateLimited", message: error.message };
    if (error.status >= 500) return { code: "Unavailable", message: error.message };
    return { code: "Unexpected", message: error.message };
  }
  if (error instanceof GitProtocolError) {
    if (MISSING_OBJECT.test(error.message)) return { code: "NotFound", message: error.message };
    return { code: "Unexpected", message: `git server: ${error.message}` };
  }
  // Socket and DNS errors carry Node codes, which toStowageError maps (ECONNRESET → Unavailable).
  return undefined;
}
