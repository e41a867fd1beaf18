/**
 * The scoped S3 path of a copy run on an SSH host (issue 17), end to end: our S3 test server
 * (Swift) has no STS, so a small server that speaks the documented STS Query API
 * (test/support/sts-protocol-server.ts) stands beside it, named by `AWS_ENDPOINT_URL_STS` as a user
 * of an S3-compatible server with an STS would name it. It mints, for the caller's key (Swift's
 * "test:tester"), a session of another Swift user ("test:explicit"), so the host's copy really runs
 * with the minted key and token (Swift's s3api checks the signature, and accepts the
 * x-amz-security-token header without checking it). Neither server enforces the session policy:
 * the test checks the policy Stowage asked for, not what S3 would make of it.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { buildRunner } from "../../scripts/build-runner.js";
import { blob, closeSystems, copy, folder, type TransferReport } from "../../src/index.js";
import { expectCode } from "../../src/testing/index.js";
import { execCallsDuring, type ExecCall } from "../support/host-path.js";
import { placeOn } from "../support/places.js";
import { startStsProtocolServer, type StsProtocolServer } from "../support/sts-protocol-server.js";

const BUCKET = "stowage-test";
const FILES: Record<string, string> = { "a.txt": "alpha", "b.txt": "bravo", "sub/c.txt": "charlie" };
/** The shortest session GetFederationToken gives, and the 12 h Stowage never exceeds. */
const MIN_SESSION_SECONDS = 900;
const MAX_SESSION_SECONDS = 43_200;
/** AssumeRole from a role's session gives at most 1 h. */
const MAX_CHAINED_SECONDS = 3_600;
const ROLE = "Trainer";

interface WireRequest {
  protocol: number;
  env: Record<string, string>;
}

/** Parses `stdin` as a wire request, or undefined when it is something else (the runner's bundle, uploaded once). */
function asWireRequest(stdin: string): WireRequest | undefined {
  try {
    const parsed = JSON.parse(stdin) as Partial<WireRequest> & { protocol?: unknown };
    return typeof parsed.protocol === "number" ? (parsed as WireRequest) : undefined;
  } catch {
    return undefined;
  }
}

/** The one copy request the host got on stdin during a copy (parsed), with its command and raw stdin. */
function hostRequest(calls: readonly ExecCall[]): { command: string; stdin: string; request: WireRequest } {
  const requests = calls.flatMap((call) => {
    const request = asWireRequest(call.stdin);
    return request ? [{ command: call.command, stdin: call.stdin, request }] : [];
  });
  expect(requests).toHaveLength(1);
  return requests[0]!;
}

describe("a copy on an SSH host gets S3 credentials minted by STS for that copy", () => {
  let sts: StsProtocolServer;
  let sourceDir: string;
  const callerKeyId = () => process.env.AWS_ACCESS_KEY_ID!;
  const callerSecret = () => process.env.AWS_SECRET_ACCESS_KEY!;
  const source = () => folder(placeOn("ssh", sourceDir));
  const explicitKey = () => ({ accessKeyId: process.env.STOWAGE_TEST_S3_EXPLICIT_KEY_ID!, secretAccessKey: process.env.STOWAGE_TEST_S3_EXPLICIT_SECRET! });

  beforeAll(async () => {
    delete process.env.STOWAGE_REMOTE_COMMAND;
    await buildRunner();
    sts = await startStsProtocolServer({
      callers: [
        { accessKeyId: callerKeyId(), secretAccessKey: callerSecret(), arn: "arn:aws:iam::123456789012:user/tester" },
        // The other Swift user, as a role's session: minting for it answers the first user's key.
        {
          ...explicitKey(),
          arn: `arn:aws:sts::123456789012:assumed-role/${ROLE}/laptop`,
          issue: { accessKeyId: callerKeyId(), secretAccessKey: callerSecret() },
        },
      ],
      issue: explicitKey(),
    });
    // Read by the s3 system when it mints, each time: an S3-compatible endpoint gets STS only when named.
    process.env.AWS_ENDPOINT_URL_STS = sts.url;
    sourceDir = join(process.env.STOWAGE_TEST_SSH_DIR!, `sts-${randomUUID()}`);
    for (const [name, content] of Object.entries(FILES)) {
      mkdirSync(join(sourceDir, name, ".."), { recursive: true });
      writeFileSync(join(sourceDir, name), content);
    }
  });

  beforeEach(() => sts.reset());

  afterAll(async () => {
    delete process.env.AWS_ENDPOINT_URL_STS;
    await closeSystems();
    await sts?.close();
  });

  it("ssh → s3: the host writes with a session limited to the destination's prefix, never the caller's secret", async () => {
    const prefix = `sts-up-${randomUUID()}`;
    const target = `s3://${BUCKET}/${prefix}`;
    let report: TransferReport | undefined;
    const calls = await execCallsDuring(placeOn("ssh", "/"), async () => {
      report = (await source().to(target)).report!;
    });
    expect(report).toMatchObject({ ranOn: ["remote-host"], credentials: "scoped" });
    expect(report!.credentialsReason).toBeUndefined();
    expect(report!.copied.map((f) => f.path).sort()).toEqual(Object.keys(FILES).sort());

    // STS was asked once, by the caller's key, for a federated session with exactly this policy.
    expect(sts.requests).toHaveLength(1);
    const [minting] = sts.requests;
    expect(minting).toMatchObject({ action: "GetFederationToken", accessKeyId: callerKeyId(), status: 200, name: "stowage-copy" });
    expect(minting!.durationSeconds).toBeGreaterThanOrEqual(MIN_SESSION_SECONDS);
    expect(minting!.durationSeconds).toBeLessThanOrEqual(MAX_SESSION_SECONDS);
    expect(JSON.parse(minting!.policy!)).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "Objects",
          Effect: "Allow",
          Action: ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
          Resource: [`arn:aws:s3:::${BUCKET}/${prefix}`, `arn:aws:s3:::${BUCKET}/${prefix}/*`],
        },
        // Listing (of this prefix only) is for the resume journal's check of what is already there.
        {
          Sid: "List",
          Effect: "Allow",
          Action: "s3:ListBucket",
          Resource: `arn:aws:s3:::${BUCKET}`,
          Condition: { StringLike: { "s3:prefix": [prefix, `${prefix}/*`] } },
        },
      ],
    });

    // The host got the minted key, secret and token on stdin, and nothing of the caller's secret.
    expect(sts.issued).toHaveLength(1);
    const [minted] = sts.issued;
    const { command, stdin, request } = hostRequest(calls);
    expect(request.env).toMatchObject({
      AWS_ACCESS_KEY_ID: minted!.accessKeyId,
      AWS_SECRET_ACCESS_KEY: minted!.secretAccessKey,
      AWS_SESSION_TOKEN: minted!.sessionToken,
    });
    expect(request.env.AWS_ACCESS_KEY_ID).not.toBe(callerKeyId());
    expect(stdin).not.toContain(JSON.stringify(callerSecret()));
    expect(command).not.toContain(minted!.sessionToken);
    expect(command).not.toContain(minted!.secretAccessKey);

    for (const [name, content] of Object.entries(FILES)) expect(await blob(`${target}/${name}`).fetch("utf8"), name).toBe(content);
    await folder(target).rm();
  });

  it('ssh → s3 with remoteCredentials: "scoped" runs on the host, with deleteExtras asking for deletes too', async () => {
    const prefix = `sts-scoped-${randomUUID()}`;
    const target = `s3://${BUCKET}/${prefix}`;
    await folder(target).put({ "extra.txt": "not in the source" });
    const report = (await source().to(target, { remoteCredentials: "scoped", deleteExtras: true })).report!;
    expect(report).toMatchObject({ ranOn: ["remote-host"], credentials: "scoped" });
    expect(report.deleted.map((f) => f.path)).toEqual(["extra.txt"]);
    expect((await folder(target).ls({ recursive: true })).sort()).toEqual(Object.keys(FILES).sort());
    const policy = JSON.parse(sts.requests.at(-1)!.policy!) as { Statement: { Action: string | string[] }[] };
    expect(policy.Statement[0]!.Action).toContain("s3:DeleteObject");
    expect(policy.Statement[0]!.Action).not.toContain("s3:GetObject");
    await folder(target).rm();
  });

  it("s3 → ssh: the host reads with a session that may only get and list objects under the source's prefix", async () => {
    const prefix = `sts-down-${randomUUID()}`;
    const from = `s3://${BUCKET}/${prefix}`;
    await folder(from).put(FILES);
    const targetDir = join(process.env.STOWAGE_TEST_SSH_DIR!, `sts-down-${randomUUID()}`);
    let report: TransferReport | undefined;
    const calls = await execCallsDuring(placeOn("ssh", "/"), async () => {
      report = await copy(from, placeOn("ssh", targetDir), { remoteCredentials: "scoped" });
    });
    expect(report).toMatchObject({ ranOn: ["remote-host"], credentials: "scoped" });

    const minting = sts.requests.find((request) => request.action === "GetFederationToken");
    expect(minting).toMatchObject({ accessKeyId: callerKeyId(), status: 200 });
    expect(minting!.durationSeconds).toBeGreaterThanOrEqual(MIN_SESSION_SECONDS);
    expect(minting!.durationSeconds).toBeLessThanOrEqual(MAX_SESSION_SECONDS);
    expect(JSON.parse(minting!.policy!)).toEqual({
      Version: "2012-10-17",
      Statement: [
        { Sid: "Objects", Effect: "Allow", Action: ["s3:GetObject"], Resource: [`arn:aws:s3:::${BUCKET}/${prefix}`, `arn:aws:s3:::${BUCKET}/${prefix}/*`] },
        {
          Sid: "List",
          Effect: "Allow",
          Action: "s3:ListBucket",
          Resource: `arn:aws:s3:::${BUCKET}`,
          Condition: { StringLike: { "s3:prefix": [prefix, `${prefix}/*`] } },
        },
      ],
    });

    const minted = sts.issued.at(-1)!;
    const { stdin, request } = hostRequest(calls);
    expect(request.env).toMatchObject({ AWS_ACCESS_KEY_ID: minted.accessKeyId, AWS_SESSION_TOKEN: minted.sessionToken });
    expect(stdin).not.toContain(JSON.stringify(callerSecret()));
    // The host is this machine: what landed there is on the local disk.
    for (const [name, content] of Object.entries(FILES)) expect(readFileSync(join(targetDir, name), "utf8"), name).toBe(content);
    await folder(from).rm();
  });

  it('where STS refuses the key, the copy forwards the caller\'s own and says why; remoteCredentials: "scoped" refuses before sending anything', async () => {
    const target = `s3://${BUCKET}/sts-refused-${randomUUID()}`;
    sts.refuse("AccessDenied");
    const report = (await source().to(target)).report!;
    expect(report).toMatchObject({ ranOn: ["remote-host"], credentials: "unscoped" });
    expect(report.credentialsReason).toMatch(/AccessDenied/);
    await folder(target).rm();

    sts.refuse("AccessDenied");
    const strict = `s3://${BUCKET}/sts-refused-strict-${randomUUID()}`;
    const calls = await execCallsDuring(placeOn("ssh", "/"), () => expectCode(source().to(strict, { remoteCredentials: "scoped" }), "Unsupported"));
    expect(calls.filter((call) => call.stdin !== "")).toEqual([]);
    expect(await folder(strict).ls({ recursive: true })).toEqual([]);
  });

  it("the host really copies with the minted key: a minted secret Swift does not know fails the copy there", async () => {
    const target = `s3://${BUCKET}/sts-bad-${randomUUID()}`;
    sts.issueOnce({ accessKeyId: explicitKey().accessKeyId, secretAccessKey: "not-the-secret" });
    // Swift checks the signature of the host's first request (its listing of the destination) and refuses it.
    const calls = await execCallsDuring(placeOn("ssh", "/"), () => expectCode(source().to(target), "PermissionDenied"));
    expect(hostRequest(calls).request.env.AWS_SECRET_ACCESS_KEY).toBe("not-the-secret");
    expect(await folder(target).ls({ recursive: true })).toEqual([]);
  });

  it("a caller with a role's session credentials gets that role assumed again, with the policy and at most 1 h", async () => {
    const prefix = `sts-role-${randomUUID()}`;
    const callerToken = `caller-session-${randomUUID()}`;
    const target = folder({ path: `s3://${BUCKET}/${prefix}`, credentials: { ...explicitKey(), sessionToken: callerToken } });
    let report: TransferReport | undefined;
    const calls = await execCallsDuring(placeOn("ssh", "/"), async () => {
      report = (await source().to(target)).report!;
    });
    expect(report).toMatchObject({ ranOn: ["remote-host"], credentials: "scoped" });
    expect(sts.requests.map((request) => [request.action, request.accessKeyId])).toEqual([
      ["GetCallerIdentity", explicitKey().accessKeyId],
      ["AssumeRole", explicitKey().accessKeyId],
    ]);
    const assumed = sts.requests[1]!;
    expect(assumed).toMatchObject({ status: 200, roleArn: `arn:aws:iam::123456789012:role/${ROLE}`, name: "stowage-copy" });
    expect(assumed.durationSeconds).toBeGreaterThanOrEqual(MIN_SESSION_SECONDS);
    expect(assumed.durationSeconds).toBeLessThanOrEqual(MAX_CHAINED_SECONDS);
    expect(JSON.parse(assumed.policy!)).toMatchObject({
      Statement: [{ Resource: [`arn:aws:s3:::${BUCKET}/${prefix}`, `arn:aws:s3:::${BUCKET}/${prefix}/*`] }, { Sid: "List" }],
    });

    const minted = sts.issued.at(-1)!;
    const { stdin, request } = hostRequest(calls);
    expect(request.env).toMatchObject({ AWS_ACCESS_KEY_ID: minted.accessKeyId, AWS_SESSION_TOKEN: minted.sessionToken });
    expect(stdin).not.toContain(callerToken);
    expect(stdin).not.toContain(JSON.stringify(explicitKey().secretAccessKey));
    for (const [name, content] of Object.entries(FILES)) expect(await blob(`s3://${BUCKET}/${prefix}/${name}`).fetch("utf8"), name).toBe(content);
    await folder(`s3://${BUCKET}/${prefix}`).rm();
  });
});
