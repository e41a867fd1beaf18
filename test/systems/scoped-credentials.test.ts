/**
 * What each provider's narrowed credential for one copy allows (issue 17), checked without a
 * provider: the S3 session policy, the GCS Credential Access Boundary, the Azure SAS permissions,
 * and the scope and lifetime the transfer engine asks for.
 */
import { describe, expect, it } from "vitest";
import type { CredentialScope } from "../../src/systems/contract.js";
import { sasPermissions } from "../../src/systems/azure/system.js";
import { accessBoundary } from "../../src/systems/gs/scoped.js";
import { arnPartition, mintScoped, roleOfSession, sessionPolicy } from "../../src/systems/s3/scoped.js";
import type { S3Settings } from "../../src/systems/s3/client.js";
import { MAX_LIFETIME_MS, MIN_LIFETIME_MS, credentialLifetimeMs, credentialScope } from "../../src/transfer/forward-credentials.js";
import type { TransferEndpoint } from "../../src/transfer/engine.js";

const write = (path: string, more: Partial<CredentialScope> = {}): CredentialScope => ({
  path,
  access: "write",
  list: false,
  replace: true,
  delete: false,
  lifetimeMs: MIN_LIFETIME_MS,
  ...more,
});
const read = (path: string): CredentialScope => ({ path, access: "read", list: true, replace: false, delete: false, lifetimeMs: MIN_LIFETIME_MS });

interface Statement {
  Sid: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: { StringLike: { "s3:prefix": string[] } };
}
const statements = (policy: string) => (JSON.parse(policy) as { Version: string; Statement: Statement[] }).Statement;

describe("S3 session policy", () => {
  it("lets a destination put objects at its prefix and nowhere else, without reading, listing or deleting", () => {
    const policy = statements(sessionPolicy(write("/team/ckpts/run-1")));
    expect(policy).toEqual([
      {
        Sid: "Objects",
        Effect: "Allow",
        Action: ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
        Resource: ["arn:aws:s3:::team/ckpts/run-1", "arn:aws:s3:::team/ckpts/run-1/*"],
      },
    ]);
  });

  it("adds listing of that prefix only, and deleting, when the copy lists and deletes", () => {
    const [objects, list] = statements(sessionPolicy(write("/team/ckpts", { list: true, delete: true })));
    expect(objects!.Action).toContain("s3:DeleteObject");
    expect(objects!.Action).not.toContain("s3:GetObject");
    expect(list).toEqual({
      Sid: "List",
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: "arn:aws:s3:::team",
      Condition: { StringLike: { "s3:prefix": ["ckpts", "ckpts/*"] } },
    });
  });

  it("lets a source get and list its prefix, and write nothing", () => {
    const [objects, list] = statements(sessionPolicy(read("/data/in")));
    expect(objects!.Action).toEqual(["s3:GetObject"]);
    expect(list!.Condition?.StringLike["s3:prefix"]).toEqual(["in", "in/*"]);
  });

  it("covers a whole bucket without a prefix condition, in the region's partition", () => {
    const [objects, list] = statements(sessionPolicy(write("/b", { list: true }), arnPartition("cn-north-1")));
    expect(objects!.Resource).toEqual(["arn:aws-cn:s3:::b/*"]);
    expect(list!.Resource).toBe("arn:aws-cn:s3:::b");
    expect(list!.Condition).toBeUndefined();
    expect(arnPartition("us-gov-west-1")).toBe("aws-us-gov");
    expect(arnPartition("eu-west-1")).toBe("aws");
  });

  it("escapes IAM wildcards in keys, so a key with * or ? allows only itself", () => {
    const [objects, list] = statements(sessionPolicy(write("/b/odd*dir?$", { list: true })));
    expect(objects!.Resource).toEqual(["arn:aws:s3:::b/odd${*}dir${?}${$}", "arn:aws:s3:::b/odd${*}dir${?}${$}/*"]);
    expect(list!.Condition?.StringLike["s3:prefix"]).toEqual(["odd${*}dir${?}${$}", "odd${*}dir${?}${$}/*"]);
  });

  it("finds the role of a role session, and nothing for other identities", () => {
    expect(roleOfSession("arn:aws:sts::123456789012:assumed-role/Builder/ci-42")).toBe("arn:aws:iam::123456789012:role/Builder");
    expect(roleOfSession("arn:aws:iam::123456789012:user/alice")).toBeUndefined();
    expect(roleOfSession(undefined)).toBeUndefined();
  });

  it("does not ask AWS's STS to narrow a key meant for another S3 endpoint", async () => {
    const settings = { region: "us-east-1", endpoint: "http://127.0.0.1:9", timeouts: { connect: 1000, idle: 1000 } } as S3Settings;
    const minted = await mintScoped(settings, { accessKeyId: "k", secretAccessKey: "s" }, write("/b/p"), {});
    expect(minted).toEqual({ reason: expect.stringMatching(/AWS_ENDPOINT_URL_STS/) });
  });
});

type Rule = { availableResource: string; availablePermissions: string[]; availabilityCondition?: { expression: string } };
const rules = (scope: CredentialScope) => accessBoundary(scope).accessBoundary.accessBoundaryRules as Rule[];

describe("GCS credential access boundary", () => {
  const objectsOf = (key: string) =>
    `resource.name == 'projects/_/buckets/team/objects/${key}' || resource.name.startsWith('projects/_/buckets/team/objects/${key}/')`;
  const listingOf = (key: string) => `api.getAttribute('storage.googleapis.com/objectListPrefix', '').startsWith('${key}/')`;

  it("lets a destination that replaces objects use them at its prefix only, listing only when asked", () => {
    expect(rules(write("/team/ckpts"))).toEqual([
      {
        availableResource: "//storage.googleapis.com/projects/_/buckets/team",
        availablePermissions: ["inRole:roles/storage.objectUser"],
        availabilityCondition: { expression: objectsOf("ckpts") },
      },
    ]);
    expect(rules(write("/team/ckpts", { list: true }))[0]!.availabilityCondition!.expression).toBe(`${objectsOf("ckpts")} || ${listingOf("ckpts")}`);
  });

  it("gives a destination that never replaces nor deletes only objectCreator, and listing apart", () => {
    const boundary = rules(write("/team/ckpts", { replace: false, list: true }));
    expect(boundary.map((r) => r.availablePermissions)).toEqual([["inRole:roles/storage.objectCreator"], ["inRole:roles/storage.objectViewer"]]);
    expect(boundary[0]!.availabilityCondition!.expression).toBe(objectsOf("ckpts"));
    expect(boundary[1]!.availabilityCondition!.expression).toBe(listingOf("ckpts"));
    expect(rules(write("/team/ckpts", { replace: false }))).toHaveLength(1);
  });

  it("lets a source read and list its prefix", () => {
    expect(rules(read("/team/in"))).toEqual([
      {
        availableResource: "//storage.googleapis.com/projects/_/buckets/team",
        availablePermissions: ["inRole:roles/storage.objectViewer"],
        availabilityCondition: { expression: `${objectsOf("in")} || ${listingOf("in")}` },
      },
    ]);
  });

  it("quotes names in CEL, and has no condition for a whole bucket", () => {
    const [rule] = rules(read("/team/it's\\odd"));
    expect(rule!.availabilityCondition!.expression).toContain("'projects/_/buckets/team/objects/it\\'s\\\\odd/'");
    expect(rules(read("/team"))[0]!.availabilityCondition).toBeUndefined();
  });
});

describe("Azure SAS permissions", () => {
  it("creates and writes for a destination, lists and deletes only when the copy does, reads and lists for a source", () => {
    expect(sasPermissions(write("/c/p"))).toBe("cw");
    expect(sasPermissions(write("/c/p", { list: true }))).toBe("cwl");
    expect(sasPermissions(write("/c/p", { list: true, delete: true }))).toBe("cwld");
    expect(sasPermissions(read("/c/p"))).toBe("rl");
  });
});

describe("the scope and lifetime a copy on a host asks for", () => {
  const end = { path: "/team/ckpts", url: "s3://team/ckpts" } as TransferEndpoint;

  it("lists a destination only for skip modes, deleteExtras or the resume journal, deletes only for deleteExtras", () => {
    expect(credentialScope(end, "write", { resume: false }, 1)).toEqual({
      path: "/team/ckpts",
      access: "write",
      list: false,
      replace: true,
      delete: false,
      lifetimeMs: 1,
    });
    expect(credentialScope(end, "write", {}, 1).list).toBe(true); // resume is on by default
    expect(credentialScope(end, "write", { resume: false, skip: "size" }, 1).list).toBe(true);
    expect(credentialScope(end, "write", { resume: false, deleteExtras: true }, 1)).toMatchObject({ list: true, delete: true });
    expect(credentialScope(end, "write", { resume: false, overwrite: false }, 1).replace).toBe(false);
  });

  it("reads a source, and only lists a destination on a dry run", () => {
    expect(credentialScope(end, "read", {}, 1)).toMatchObject({ access: "read", list: true, replace: false, delete: false });
    expect(credentialScope(end, "write", { dryRun: true, deleteExtras: true }, 1)).toMatchObject({ access: "read", delete: false });
  });

  it("lives max(15 min, 4 × the expected duration), at most 12 h, and 12 h when the size is unknown", () => {
    expect(credentialLifetimeMs(0)).toBe(MIN_LIFETIME_MS);
    expect(credentialLifetimeMs(1 << 30)).toBe(4 * 256 * 1000); // 1 GiB at 4 MiB/s is 256 s
    expect(credentialLifetimeMs(1e15)).toBe(MAX_LIFETIME_MS);
    expect(credentialLifetimeMs(undefined)).toBe(MAX_LIFETIME_MS);
  });
});
