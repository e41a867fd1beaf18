/**
 * Credentials for one copy on another host, minted from the caller's by AWS STS with a session
 * policy that allows only that copy's bucket, key prefix and actions: GetFederationToken for an
 * IAM user's long-lived key, AssumeRole of the same role for a role's session. Where that cannot
 * be done (an S3-compatible server without STS, a key without the right, the STS client not
 * installed) the answer says why, and the caller's own credentials go instead.
 */
import type { CredentialScope } from "../contract.js";
import { splitBucket } from "../paths.js";
import type { S3Settings } from "./client.js";

export interface AwsKey {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

export type Minted = { key: AwsKey & { sessionToken: string }; expiresAt: Date } | { reason: string };

/** GetFederationToken's shortest and (for an IAM user) longest session; AssumeRole from a role session: at most 1 h. */
const MIN_SESSION_SECONDS = 900;
const MAX_FEDERATION_SECONDS = 129_600;
const MAX_CHAINED_ROLE_SECONDS = 3_600;
const SESSION_NAME = "stowage-copy";

/** The ARN partition of a region: China and GovCloud have their own. */
export function arnPartition(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  return "aws";
}

/** IAM reads `*`, `?` and `$` in ARNs and StringLike values as wildcards and variables; `${x}` is the character itself. */
const literal = (text: string) => text.replace(/[*?$]/g, (c) => `\${${c}}`);

/**
 * The session policy for `scope`: objects at the key or below it (as a folder), with the object
 * actions its access needs, and listing only of that prefix (s3:prefix), only when asked.
 */
export function sessionPolicy(scope: CredentialScope, partition = "aws"): string {
  const { bucket, key } = splitBucket(scope.path);
  const bucketArn = `arn:${partition}:s3:::${literal(bucket)}`;
  const objects = key === "" ? [`${bucketArn}/*`] : [`${bucketArn}/${literal(key)}`, `${bucketArn}/${literal(key)}/*`];
  const actions =
    scope.access === "read"
      ? ["s3:GetObject"]
      : ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", ...(scope.delete ? ["s3:DeleteObject"] : [])];
  const statements: object[] = [{ Sid: "Objects", Effect: "Allow", Action: actions, Resource: objects }];
  if (scope.access === "read" || scope.list) {
    const prefixes = key === "" ? undefined : [literal(key), `${literal(key)}/*`];
    statements.push({
      Sid: "List",
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: bucketArn,
      ...(prefixes ? { Condition: { StringLike: { "s3:prefix": prefixes } } } : {}),
    });
  }
  return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}

/** The role a role session belongs to: arn:aws:sts::1:assumed-role/R/s → arn:aws:iam::1:role/R (a role with a path is not found). */
export function roleOfSession(arn: string | undefined): string | undefined {
  const match = /^arn:([^:]+):sts::(\d+):assumed-role\/([^/]+)\/[^/]+$/.exec(arn ?? "");
  return match ? `arn:${match[1]}:iam::${match[2]}:role/${match[3]}` : undefined;
}

interface StsClient {
  send(command: object): Promise<unknown>;
  destroy(): void;
}
interface StsModule {
  STSClient: new (config: object) => StsClient;
  GetFederationTokenCommand: new (input: object) => object;
  GetCallerIdentityCommand: new (input: object) => object;
  AssumeRoleCommand: new (input: object) => object;
}
interface StsCredentials {
  Credentials?: { AccessKeyId?: string; SecretAccessKey?: string; SessionToken?: string; Expiration?: Date };
}

/** A name the type checker does not resolve: the package is optional, loaded only to mint. */
const STS_PACKAGE: string = "@aws-sdk/client-sts";

async function loadSts(): Promise<StsModule | undefined> {
  try {
    return (await import(STS_PACKAGE)) as StsModule;
  } catch {
    return undefined;
  }
}

const message = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

/** Mints credentials for `scope` from `key`, or says why it cannot. */
export async function mintScoped(settings: S3Settings, key: AwsKey, scope: CredentialScope, env: NodeJS.ProcessEnv = process.env): Promise<Minted> {
  if (splitBucket(scope.path).bucket === "") return { reason: "the copy spans every bucket" };
  const stsEndpoint = env.AWS_ENDPOINT_URL_STS || undefined;
  if (settings.endpoint !== undefined && stsEndpoint === undefined) {
    return { reason: `the S3 endpoint ${settings.endpoint} is not AWS, and no STS endpoint is set (AWS_ENDPOINT_URL_STS)` };
  }
  const sts = await loadSts();
  if (!sts) return { reason: `${STS_PACKAGE} is not installed, so no narrower credential can be minted` };
  const client = new sts.STSClient({
    region: settings.region,
    credentials: key,
    ...(stsEndpoint ? { endpoint: stsEndpoint } : {}),
    requestHandler: { connectionTimeout: settings.timeouts.connect, socketTimeout: settings.timeouts.idle },
  });
  const policy = sessionPolicy(scope, arnPartition(settings.region));
  const seconds = Math.max(MIN_SESSION_SECONDS, Math.ceil(scope.lifetimeMs / 1000));
  try {
    let answer: StsCredentials;
    if (!key.sessionToken) {
      const DurationSeconds = Math.min(seconds, MAX_FEDERATION_SECONDS);
      answer = (await client.send(new sts.GetFederationTokenCommand({ Name: SESSION_NAME, Policy: policy, DurationSeconds }))) as StsCredentials;
    } else {
      // Session credentials cannot call GetFederationToken; a role's session may assume its role again, if its trust policy allows.
      const identity = (await client.send(new sts.GetCallerIdentityCommand({}))) as { Arn?: string };
      const RoleArn = roleOfSession(identity.Arn);
      if (!RoleArn) return { reason: `the session credentials of ${identity.Arn ?? "this identity"} are not a role's, so STS cannot narrow them` };
      const DurationSeconds = Math.min(seconds, MAX_CHAINED_ROLE_SECONDS);
      answer = (await client.send(new sts.AssumeRoleCommand({ RoleArn, RoleSessionName: SESSION_NAME, Policy: policy, DurationSeconds }))) as StsCredentials;
    }
    const minted = answer.Credentials;
    if (!minted?.AccessKeyId || !minted.SecretAccessKey || !minted.SessionToken) return { reason: "STS answered without credentials" };
    return {
      key: { accessKeyId: minted.AccessKeyId, secretAccessKey: minted.SecretAccessKey, sessionToken: minted.SessionToken },
      expiresAt: minted.Expiration ?? new Date(Date.now() + seconds * 1000),
    };
  } catch (error) {
    return { reason: `STS could not mint a narrower credential (${message(error)})` };
  } finally {
    client.destroy();
  }
}
