/**
 * A small HTTP server that speaks the AWS STS Query API as AWS documents it
 * (https://docs.aws.amazon.com/STS/latest/APIReference/), for tests of credentials minted for a
 * copy on a host: our S3 test server (Swift) has no STS. It is not STS: it checks the request the
 * way STS documents it and records it, but enforces no policy (Swift would not either).
 * - POST / with a form-encoded body (`Action`, `Version=2011-06-15`, the action's parameters),
 *   signed with SigV4 for service `sts` by a key it knows (`callers`): an unknown key answers 403
 *   InvalidClientTokenId, a wrong signature 403 SignatureDoesNotMatch;
 * - GetFederationToken (`Name` 2–32 characters of [\w+=,.@-], `DurationSeconds` 900–129600,
 *   `Policy` at most 2048 characters) and AssumeRole (`RoleArn`, `RoleSessionName`,
 *   `DurationSeconds` 900–3600 as for a role chained from a session) answer `issue`'s key (or the
 *   caller's own `issue`, or `issueOnce`'s) with a fresh SessionToken and an Expiration
 *   DurationSeconds from now; GetCallerIdentity answers the caller's ARN. A bad parameter answers 400 ValidationError, any other action 400 InvalidAction;
 * - `refuse(code)` answers the next minting requests 403 with that error code, as STS does for a
 *   key without the right.
 * Answers are the documented XML: `<{Action}Response><{Action}Result>…</{Action}Result>
 * <ResponseMetadata>…</ResponseMetadata></{Action}Response>`, errors `<ErrorResponse><Error>…`.
 */
import { createHash, createHmac, randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

const NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/";
const ACCOUNT = "123456789012";
const MAX_POLICY_CHARS = 2048;

export interface StsKey {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface StsCaller extends StsKey {
  /** What GetCallerIdentity answers for this key. */
  arn: string;
  /** The key minted for this caller, instead of the server's `issue`. */
  issue?: StsKey;
}

export interface StsRequest {
  action: string;
  /** The access key id of the request's SigV4 Authorization header. */
  accessKeyId: string;
  /** The session policy as sent (a JSON string), when there was one. */
  policy?: string | undefined;
  durationSeconds?: number | undefined;
  /** GetFederationToken's Name or AssumeRole's RoleSessionName. */
  name?: string | undefined;
  roleArn?: string | undefined;
  /** The status this server answered. */
  status: number;
}

export interface StsIssued extends StsKey {
  sessionToken: string;
  expiration: Date;
}

export interface StsProtocolServer {
  /** The endpoint, for `AWS_ENDPOINT_URL_STS`. */
  url: string;
  /** Every request, in order, since the last reset. */
  readonly requests: readonly StsRequest[];
  /** The credentials answered, in order, since the last reset. */
  readonly issued: readonly StsIssued[];
  reset(): void;
  /** Answers the next `count` GetFederationToken and AssumeRole requests 403 `code` (e.g. AccessDenied). */
  refuse(code: string, count?: number): void;
  /** Mints `key` at the next GetFederationToken or AssumeRole, whoever asks. */
  issueOnce(key: StsKey): void;
  close(): Promise<void>;
}

class StsFault extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const xmlEscape = (text: string) => text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
const sha256Hex = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");
const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data).digest();

function xmlOf(fields: Record<string, string | Record<string, string>>): string {
  return Object.entries(fields)
    .map(([name, value]) => `<${name}>${typeof value === "string" ? xmlEscape(value) : xmlOf(value)}</${name}>`)
    .join("");
}

/** The SigV4 `Authorization` header's parts, or a fault. */
function parseAuthorization(header: string | undefined): { keyId: string; scope: string; signedHeaders: string[]; signature: string } {
  const match = /^AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(header ?? "");
  if (!match) throw new StsFault(403, "MissingAuthenticationToken", "Request is missing a SigV4 Authorization header");
  const credential = match[1]!;
  const slash = credential.indexOf("/");
  return { keyId: credential.slice(0, slash), scope: credential.slice(slash + 1), signedHeaders: match[2]!.split(";"), signature: match[3]! };
}

/** Checks the request's SigV4 signature with `secret` (service sts, path "/", no query). */
function checkSignature(request: IncomingMessage, body: Buffer, auth: ReturnType<typeof parseAuthorization>, secret: string): void {
  const [date, region, service, terminal] = auth.scope.split("/");
  if (service !== "sts" || terminal !== "aws4_request" || !date || !region)
    throw new StsFault(403, "SignatureDoesNotMatch", `Credential scope ${auth.scope} is not for sts`);
  const headerValue = (name: string) => {
    const value = request.headers[name];
    return (Array.isArray(value) ? value.join(",") : (value ?? "")).trim().replace(/\s+/g, " ");
  };
  const [path, query = ""] = (request.url ?? "/").split("?");
  const canonical = [
    request.method,
    path,
    query,
    auth.signedHeaders.map((name) => `${name}:${headerValue(name)}\n`).join(""),
    auth.signedHeaders.join(";"),
    sha256Hex(body),
  ].join("\n");
  const stringToSign = ["AWS4-HMAC-SHA256", headerValue("x-amz-date"), auth.scope, sha256Hex(canonical)].join("\n");
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), terminal);
  if (hmac(signingKey, stringToSign).toString("hex") !== auth.signature) {
    throw new StsFault(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided");
  }
}

function durationOf(params: URLSearchParams, max: number): number {
  const text = params.get("DurationSeconds") ?? "3600";
  const seconds = Number(text);
  if (!/^\d+$/.test(text) || seconds < 900 || seconds > max) {
    throw new StsFault(400, "ValidationError", `DurationSeconds ${text} must be between 900 and ${max}`);
  }
  return seconds;
}

function policyOf(params: URLSearchParams): string | undefined {
  const policy = params.get("Policy") ?? undefined;
  if (policy === undefined) return undefined;
  if (policy.length > MAX_POLICY_CHARS)
    throw new StsFault(400, "PackedPolicyTooLarge", `Policy has ${policy.length} characters, more than ${MAX_POLICY_CHARS}`);
  try {
    JSON.parse(policy);
  } catch {
    throw new StsFault(400, "MalformedPolicyDocument", "Policy is not JSON");
  }
  return policy;
}

function sessionName(value: string | null, parameter: string): string {
  if (value === null || !/^[\w+=,.@-]{2,64}$/.test(value)) throw new StsFault(400, "ValidationError", `${parameter} "${value ?? ""}" is not a valid name`);
  return value;
}

/** Starts the server on 127.0.0.1; callers' requests are answered with `issue`'s key and a new token. */
export async function startStsProtocolServer(options: { callers: readonly StsCaller[]; issue: StsKey }): Promise<StsProtocolServer> {
  const requests: StsRequest[] = [];
  const issued: StsIssued[] = [];
  let refusals: { code: string; count: number } | undefined;
  let nextKey: StsKey | undefined;

  function mint(caller: StsCaller, seconds: number): Record<string, string> {
    const key = nextKey ?? caller.issue ?? options.issue;
    nextKey = undefined;
    const credentials: StsIssued = {
      accessKeyId: key.accessKeyId,
      secretAccessKey: key.secretAccessKey,
      sessionToken: `FwoGZXIvYXdzE${randomBytes(48).toString("base64url")}`,
      expiration: new Date(Math.floor(Date.now() / 1000 + seconds) * 1000),
    };
    issued.push(credentials);
    return {
      AccessKeyId: credentials.accessKeyId,
      SecretAccessKey: credentials.secretAccessKey,
      SessionToken: credentials.sessionToken,
      Expiration: credentials.expiration.toISOString(),
    };
  }

  function refuseIfAsked(): void {
    if (!refusals || refusals.count <= 0) return;
    refusals.count--;
    throw new StsFault(403, refusals.code, "User is not authorized to perform this action");
  }

  /** The action's Result element's content, recording what was asked in `record`. */
  function answer(params: URLSearchParams, caller: StsCaller, record: StsRequest): Record<string, string | Record<string, string>> {
    switch (record.action) {
      case "GetCallerIdentity":
        return { Arn: caller.arn, UserId: `AIDA${caller.accessKeyId.replace(/\W/g, "").toUpperCase()}`, Account: ACCOUNT };
      case "GetFederationToken": {
        record.name = params.get("Name") ?? undefined;
        record.policy = params.get("Policy") ?? undefined;
        const name = sessionName(params.get("Name"), "Name");
        if (name.length > 32) throw new StsFault(400, "ValidationError", `Name "${name}" is longer than 32 characters`);
        const policy = policyOf(params);
        const seconds = durationOf(params, 129_600);
        record.durationSeconds = seconds;
        refuseIfAsked();
        return {
          Credentials: mint(caller, seconds),
          FederatedUser: { Arn: `arn:aws:sts::${ACCOUNT}:federated-user/${name}`, FederatedUserId: `${ACCOUNT}:${name}` },
          PackedPolicySize: String(policy === undefined ? 0 : Math.ceil((policy.length * 100) / MAX_POLICY_CHARS)),
        };
      }
      case "AssumeRole": {
        record.name = params.get("RoleSessionName") ?? undefined;
        record.roleArn = params.get("RoleArn") ?? undefined;
        record.policy = params.get("Policy") ?? undefined;
        const name = sessionName(params.get("RoleSessionName"), "RoleSessionName");
        const role = /^arn:[^:]+:iam::(\d{12}):role\/([\w+=,.@-]+)$/.exec(record.roleArn ?? "");
        if (!role) throw new StsFault(400, "ValidationError", `RoleArn "${record.roleArn ?? ""}" is not a role's ARN`);
        policyOf(params);
        const seconds = durationOf(params, 3_600);
        record.durationSeconds = seconds;
        refuseIfAsked();
        return {
          Credentials: mint(caller, seconds),
          AssumedRoleUser: {
            Arn: `arn:aws:sts::${role[1]}:assumed-role/${role[2]}/${name}`,
            AssumedRoleId: `AROA${randomUUID().slice(0, 8).toUpperCase()}:${name}`,
          },
        };
      }
      default:
        throw new StsFault(400, "InvalidAction", `Could not find operation ${record.action} for version 2011-06-15`);
    }
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const requestId = randomUUID();
    const params = new URLSearchParams(body.toString("utf8"));
    const record: StsRequest = { action: params.get("Action") ?? "", accessKeyId: "", status: 200 };
    const send = (status: number, xml: string) => {
      record.status = status;
      response.writeHead(status, { "content-type": "text/xml", "x-amzn-requestid": requestId });
      response.end(`<?xml version="1.0" encoding="UTF-8"?>\n${xml}`);
    };
    try {
      if (request.method !== "POST" || !(request.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) {
        throw new StsFault(400, "InvalidAction", "STS takes a form-encoded POST");
      }
      const auth = parseAuthorization(request.headers.authorization);
      record.accessKeyId = auth.keyId;
      requests.push(record);
      const caller = options.callers.find((known) => known.accessKeyId === auth.keyId);
      if (!caller) throw new StsFault(403, "InvalidClientTokenId", "The security token included in the request is invalid");
      checkSignature(request, body, auth, caller.secretAccessKey);
      if (params.get("Version") !== "2011-06-15") throw new StsFault(400, "InvalidAction", `Version ${params.get("Version") ?? "(none)"} is not 2011-06-15`);
      const result = answer(params, caller, record);
      const action = record.action;
      send(
        200,
        `<${action}Response xmlns="${NAMESPACE}"><${action}Result>${xmlOf(result)}</${action}Result>${xmlOf({ ResponseMetadata: { RequestId: requestId } })}</${action}Response>`,
      );
    } catch (error) {
      if (!requests.includes(record)) requests.push(record);
      const fault = error instanceof StsFault ? error : new StsFault(500, "InternalFailure", String(error));
      const type = fault.status < 500 ? "Sender" : "Receiver";
      send(
        fault.status,
        `<ErrorResponse xmlns="${NAMESPACE}">${xmlOf({ Error: { Type: type, Code: fault.code, Message: fault.message }, RequestId: requestId })}</ErrorResponse>`,
      );
    }
  }

  const server = createServer((request, response) => {
    handle(request, response).catch(() => response.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    get issued() {
      return issued;
    },
    reset() {
      requests.length = 0;
      issued.length = 0;
      refusals = undefined;
      nextKey = undefined;
    },
    refuse(code, count = 1) {
      refusals = { code, count };
    },
    issueOnce(key) {
      nextKey = key;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
