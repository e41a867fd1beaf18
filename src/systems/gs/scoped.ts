/**
 * An access token for one copy on another host: the caller's token downscoped by a Credential
 * Access Boundary (google-auth-library's DownscopedClient, exchanged at Google's STS) to the copy's
 * bucket, its object prefix and the predefined role its access needs. A downscoped token lives as
 * long as the token it came from (an hour at most), however long the copy was expected to take.
 */
import { DownscopedClient, type AuthClient, type CredentialAccessBoundary } from "google-auth-library";
import type { CredentialScope } from "../contract.js";
import { splitBucket } from "../paths.js";

/** A CEL string literal. */
const cel = (text: string) => `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

/** Objects at `key` or below it as a folder, and listings of that prefix only. */
function conditions(bucket: string, key: string): { objects: string; listing: string } {
  const object = `projects/_/buckets/${bucket}/objects/${key}`;
  return {
    objects: `resource.name == ${cel(object)} || resource.name.startsWith(${cel(`${object}/`)})`,
    listing: `api.getAttribute('storage.googleapis.com/objectListPrefix', '').startsWith(${cel(`${key}/`)})`,
  };
}

/**
 * The boundary for `scope`: read is objectViewer (get and list); a write that neither replaces nor
 * deletes is objectCreator, with objectViewer for listing only when the copy lists; a write that
 * replaces or deletes needs objectUser (GCS asks for storage.objects.delete to overwrite), all
 * limited to the prefix. A scope of a whole bucket has no condition.
 */
export function accessBoundary(scope: CredentialScope): CredentialAccessBoundary {
  const { bucket, key } = splitBucket(scope.path);
  const availableResource = `//storage.googleapis.com/projects/_/buckets/${bucket}`;
  const rule = (role: string, expression: string | undefined) => ({
    availableResource,
    availablePermissions: [`inRole:roles/storage.${role}`],
    ...(expression === undefined ? {} : { availabilityCondition: { expression } }),
  });
  const where = key === "" ? undefined : conditions(bucket, key);
  const either = where && `${where.objects} || ${where.listing}`;
  let rules;
  if (scope.access === "read") rules = [rule("objectViewer", either)];
  else if (scope.replace || scope.delete) rules = [rule("objectUser", scope.list ? either : where?.objects)];
  else rules = [rule("objectCreator", where?.objects), ...(scope.list ? [rule("objectViewer", where?.listing)] : [])];
  return { accessBoundary: { accessBoundaryRules: rules } };
}

/** A token downscoped to `scope` from `source`'s, or why there is none. */
export async function downscopedToken(source: AuthClient, scope: CredentialScope): Promise<{ token: string; expiresAt?: Date } | { reason: string }> {
  if (splitBucket(scope.path).bucket === "") return { reason: "the copy spans every bucket" };
  try {
    const answer = await new DownscopedClient(source, accessBoundary(scope)).getAccessToken();
    if (!answer.token) return { reason: "Google's STS answered without a token" };
    return { token: answer.token, ...(answer.expirationTime ? { expiresAt: new Date(answer.expirationTime) } : {}) };
  } catch (error) {
    return { reason: `the token could not be downscoped (${error instanceof Error ? error.message : String(error)})` };
  }
}
