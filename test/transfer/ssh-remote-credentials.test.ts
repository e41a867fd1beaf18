/**
 * What a copy out of an SSH host is given for its destination (issue 17): the narrowest credential
 * the provider can mint for that copy, else the caller's own, which the report says with the
 * reason. Azurite gets a SAS for the one container; our S3 test server (Swift) has no STS, so the
 * forward is unscoped there, and `remoteCredentials: "scoped"` refuses it before anything is copied.
 * ssh-remote-sts.test.ts runs the scoped S3 path against an STS protocol server beside Swift.
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildRunner } from "../../scripts/build-runner.js";
import { closeSystems, folder } from "../../src/index.js";
import { expectCode } from "../../src/testing/index.js";
import { execCallsDuring } from "../support/host-path.js";
import { placeOn } from "../support/places.js";

describe("ssh → bucket on the host: the credentials it is given", () => {
  let sourceDir: string;
  const source = () => folder(placeOn("ssh", sourceDir));

  beforeAll(async () => {
    delete process.env.STOWAGE_REMOTE_COMMAND;
    await buildRunner();
    sourceDir = join(process.env.STOWAGE_TEST_SSH_DIR!, `creds-${randomUUID()}`);
    mkdirSync(join(sourceDir, "sub"), { recursive: true });
    writeFileSync(join(sourceDir, "a.txt"), "alpha");
    writeFileSync(join(sourceDir, "sub", "b.txt"), "beta");
  });

  afterAll(async () => {
    await closeSystems();
  });

  it("says the host got unscoped credentials, and why, where the server has no STS", async () => {
    const target = `s3://stowage-test/creds-${randomUUID()}`;
    const dest = await source().to(target);
    const report = dest.report!;
    expect(report.ranOn).toEqual(["remote-host"]);
    expect(report.copied.map((f) => f.path).sort()).toEqual(["a.txt", "sub/b.txt"]);
    expect(report.credentials).toBe("unscoped");
    expect(report.credentialsReason).toMatch(/STS/);
  });

  it("gives the host a SAS for the one Azure container, with which the copy runs, lists and deletes", async () => {
    const container = `az://stowage-creds-${randomUUID().slice(0, 8)}`;
    const target = `${container}/copy`;
    try {
      const first = (await source().to(target)).report!;
      expect(first).toMatchObject({ ranOn: ["remote-host"], credentials: "scoped" });
      expect(first.credentialsReason).toBeUndefined();
      expect(first.copied.map((f) => f.path).sort()).toEqual(["a.txt", "sub/b.txt"]);
      await folder(target).put({ "extra.txt": "not in the source" });
      const again = (await source().to(target, { deleteExtras: true, skip: "size" })).report!;
      expect(again).toMatchObject({ ranOn: ["remote-host"], credentials: "scoped" });
      expect(again.skipped.map((f) => f.path).sort()).toEqual(["a.txt", "sub/b.txt"]);
      expect(again.deleted.map((f) => f.path)).toEqual(["extra.txt"]);
    } finally {
      await folder(container).rm();
    }
  });

  it('with remoteCredentials: "scoped" fails with Unsupported before anything is copied or sent', async () => {
    const target = `s3://stowage-test/scoped-${randomUUID()}`;
    const calls = await execCallsDuring(placeOn("ssh", "/"), () => expectCode(source().to(target, { remoteCredentials: "scoped" }), "Unsupported"));
    const stdins = calls.filter((call) => call.stdin !== "").map((call) => call.stdin);
    // No request (and so no credential) went to the host, and nothing arrived.
    expect(stdins).toEqual([]);
    expect(await folder(target).ls({ recursive: true })).toEqual([]);
  });

  it("the CLI's --remote-credentials scoped refuses the same copy: exit 6 (Unsupported), nothing arrives", async () => {
    const target = `s3://stowage-test/scoped-cli-${randomUUID()}`;
    const cli = [
      "--import",
      "tsx",
      "src/cli/main.ts",
      "cp",
      `ssh://${process.env.STOWAGE_TEST_SSH_HOST}${sourceDir}`,
      target,
      "--remote-credentials",
      "scoped",
      "--json",
    ];
    const failure = await promisify(execFile)(process.execPath, cli).then(
      () => undefined,
      (error: { code?: number; stdout?: string }) => error,
    );
    expect(failure?.code).toBe(6);
    expect(JSON.parse(failure?.stdout ?? "{}")).toMatchObject({ error: { code: "Unsupported" } });
    expect(await folder(target).ls({ recursive: true })).toEqual([]);
    const misspelt = await promisify(execFile)(process.execPath, [...cli.slice(0, -2), "narrow"]).then(
      () => undefined,
      (error: { code?: number }) => error,
    );
    expect(misspelt?.code).toBe(2); // a usage error, before anything runs
  });

  it('with remoteCredentials: "scoped", a copy that streams through the caller forwards nothing and runs', async () => {
    const target = `s3://stowage-test/scoped-never-${randomUUID()}`;
    const dest = await source().to(target, { remoteCredentials: "scoped", remote: "never" });
    expect(dest.report?.ranOn).toEqual(["caller"]);
    expect(dest.report?.credentials).toBeUndefined();
    expect((await folder(target).ls({ recursive: true })).length).toBe(2);
  });
});
