/** The one place where ssh2 and SFTP failures become Stowage error codes. */
import type { ErrorCode, StowageErrorInit } from "../../errors.js";

/** SFTP status codes (draft-ietf-secsh-filexfer-02, plus 11 from later drafts). */
export const SFTP_STATUS = {
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
  OP_UNSUPPORTED: 8,
  FILE_ALREADY_EXISTS: 11,
} as const;

/**
 * An SFTP request the server answered with a status other than OK. ssh2 reports these and SSH
 * disconnect reasons alike as an Error with a numeric `code`, so SFTP calls re-tag theirs.
 */
export class SftpStatusError extends Error {
  override readonly name = "SftpStatusError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The host key was unknown, changed or revoked; the message says what to do about it. */
export class HostKeyError extends Error {
  override readonly name = "HostKeyError";
}

/** No credential was usable, or the server refused all of them; the message lists what was tried. */
export class AuthError extends Error {
  override readonly name = "AuthError";
}

/** The ssh config cannot be read or holds an invalid value. */
export class SshConfigError extends Error {
  override readonly name = "SshConfigError";
}

/** An operation on a system after `close()`. */
export class ClosedError extends Error {
  override readonly name = "ClosedError";
}

const SFTP_CODES: Record<number, ErrorCode> = {
  [SFTP_STATUS.EOF]: "Unexpected",
  [SFTP_STATUS.NO_SUCH_FILE]: "NotFound",
  [SFTP_STATUS.PERMISSION_DENIED]: "PermissionDenied",
  // FAILURE is errno's catch-all (EEXIST, ENOTEMPTY, EISDIR…); callers that know the context map it.
  [SFTP_STATUS.FAILURE]: "Unexpected",
  [SFTP_STATUS.BAD_MESSAGE]: "InvalidInput",
  [SFTP_STATUS.NO_CONNECTION]: "Unavailable",
  [SFTP_STATUS.CONNECTION_LOST]: "Unavailable",
  [SFTP_STATUS.OP_UNSUPPORTED]: "Unsupported",
  [SFTP_STATUS.FILE_ALREADY_EXISTS]: "AlreadyExists",
};

export function mapSshError(error: unknown): Partial<StowageErrorInit> | undefined {
  if (error instanceof SftpStatusError) return { code: SFTP_CODES[error.status] ?? "Unexpected" };
  if (error instanceof HostKeyError || error instanceof AuthError) return { code: "PermissionDenied", message: error.message };
  if (error instanceof SshConfigError) return { code: "InvalidInput", message: error.message };
  if (error instanceof ClosedError) return { code: "Unavailable", retryable: false, message: error.message };
  // An abort's DOMException carries the legacy numeric code 20, which is no disconnect reason.
  if ((error as { name?: unknown } | null)?.name === "AbortError") return { code: "Aborted" };
  if (!(error instanceof Error)) return undefined;
  const { level, code } = error as Error & { level?: string; code?: unknown };
  switch (level) {
    case "client-authentication":
      return { code: "PermissionDenied" };
    case "client-timeout":
      return { code: "Timeout" };
    case "client-socket":
    case "client-dns":
    case "socket":
      // Node's own code (ECONNREFUSED, ENOTFOUND…) is mapped by the shared table; anything else is
      // still a network failure worth retrying.
      return typeof code === "string" ? undefined : { code: "Unavailable" };
    case "handshake":
      return { code: /host denied/i.test(error.message) ? "PermissionDenied" : "Unavailable" };
    case "protocol":
    case "sftp-protocol":
      return { code: "Unavailable" };
  }
  // A numeric code without a level is an SSH disconnect reason (too many connections, shutdown…).
  if (typeof code === "number" || /no response from server|not connected|channel open failure/i.test(error.message)) {
    return { code: "Unavailable" };
  }
  return undefined;
}
