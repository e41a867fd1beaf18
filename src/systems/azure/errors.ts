/**
 * The one mapping from what @azure/storage-blob and @azure/identity throw to Stowage error codes.
 * Storage errors are `RestError`s with the HTTP `statusCode` and Azure's `x-ms-error-code` as
 * `code` (HEAD requests have no body, so there only the status is known). Network failures are
 * `RestError`s without a status whose `code` is the Node error code, which the shared Node mapping
 * already understands.
 */
import type { StowageErrorInit } from "../../errors.js";

interface AzureErrorShape {
  name?: string;
  statusCode?: number;
  code?: string;
  message?: string;
}

/** Identity errors: no usable login, or the login was refused. */
const IDENTITY_ERRORS = new Set(["CredentialUnavailableError", "AuthenticationError", "AggregateAuthenticationError", "AuthenticationRequiredError"]);

export function mapAzureError(error: unknown): Partial<StowageErrorInit> | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { name, statusCode: status, code, message } = error as AzureErrorShape;
  if (name && IDENTITY_ERRORS.has(name)) return { code: "PermissionDenied", message: `Azure login failed: ${firstLine(message)}` };
  if (status === undefined) return code === "REQUEST_SEND_ERROR" ? { code: "Unavailable" } : undefined;
  const detail = { message: code ? `${code}: ${firstLine(message)}` : `HTTP ${status}${message ? `: ${firstLine(message)}` : ""}` };
  switch (code) {
    case "BlobNotFound":
    case "ContainerNotFound":
    case "ResourceNotFound":
      return { code: "NotFound", ...detail };
    case "BlobAlreadyExists":
    case "ContainerAlreadyExists":
    // Stowage sends only `If-None-Match: *`, so a failed condition means the target exists.
    case "ConditionNotMet":
      return { code: "AlreadyExists", ...detail };
    case "ContainerBeingDeleted":
      return { code: "Conflict", retryable: true, ...detail };
    case "ServerBusy":
      return { code: "RateLimited", ...detail };
    case "OperationTimedOut":
      return { code: "Timeout", ...detail };
  }
  if (status === 404) return { code: "NotFound", ...detail };
  if (status === 401 || status === 403) return { code: "PermissionDenied", ...detail };
  // Other failed preconditions and conflicts: leases, blob types, copies in progress.
  if (status === 409 || status === 412) return { code: "Conflict", ...detail };
  if (status === 429) return { code: "RateLimited", ...detail };
  if (status === 400 || status === 416) return { code: "InvalidInput", ...detail };
  if (status === 501) return { code: "Unsupported", ...detail };
  if (status >= 500) return { code: "Unavailable", ...detail };
  return { code: "Unexpected", ...detail };
}

function firstLine(text: string | undefined): string {
  return (text ?? "").split("\n")[0]!.trim();
}
