/** The one place where Google Cloud Storage errors become StowageError codes. */
import { StowageError, codeFromNodeError, type ErrorCode, type StowageErrorInit } from "../../errors.js";

const CREDENTIALS_HELP =
  "no Google credentials found: run `gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS " +
  "to a service-account key file, or run on Google Cloud with a service account (for an emulator, set STORAGE_EMULATOR_HOST)";
const PROJECT_HELP = "no Google Cloud project: set GOOGLE_CLOUD_PROJECT or `gs.project` in the Stowage config";

/** ApiError carries the HTTP status as a numeric `code`; gaxios errors as `status` or `response.status`. */
function httpStatusOf(error: unknown): number | undefined {
  const e = error as { code?: unknown; status?: unknown; response?: { status?: unknown } } | null;
  for (const value of [e?.code, e?.status, e?.response?.status]) {
    if (typeof value === "number" && value >= 100 && value < 600) return value;
  }
  return undefined;
}

function codeFromStatus(status: number): ErrorCode {
  if (status === 404) return "NotFound";
  if (status === 401 || status === 403) return "PermissionDenied";
  // We send a precondition only for `overwrite: false` (ifGenerationMatch=0): 412 means the object exists.
  if (status === 412) return "AlreadyExists";
  if (status === 409) return "Conflict";
  if (status === 429) return "RateLimited";
  if (status === 408) return "Timeout";
  if (status === 501) return "Unsupported";
  if (status >= 500) return "Unavailable";
  // 400, 411, 413 and 416 (a range the object cannot satisfy): the request itself was wrong.
  return "InvalidInput";
}

export function mapGsError(error: unknown): Partial<StowageErrorInit> | undefined {
  const message = error instanceof Error ? error.message : "";
  if (message.includes("Could not load the default credentials")) return { code: "PermissionDenied", message: CREDENTIALS_HELP };
  if (message.includes("Unable to detect a Project Id")) return { code: "InvalidInput", message: PROJECT_HELP };
  const status = httpStatusOf(error);
  if (status !== undefined) return { code: codeFromStatus(status) };
  // Socket failures arrive wrapped by gaxios / node-fetch, with the Node error as `cause`.
  const socket = codeFromNodeError(error) ?? codeFromNodeError((error as { cause?: unknown } | null)?.cause);
  return socket ? { code: socket } : undefined;
}

/** An error this system raises itself, with the same context the guard adds to provider errors. */
export function gsError(code: ErrorCode, operation: string, path: string | undefined, message: string): StowageError {
  return new StowageError({ code, system: "gs", operation, path, message });
}
