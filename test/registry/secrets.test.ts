/**
 * Resources built with explicit credentials work with them, and saving them records none: every
 * byte both registries store is searched for each secret's value.
 */
import { generateKeyPairSync } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Blob, Cluster, blob, closeSystems, cluster, folder, table } from "../../src/index.js";
import { expectCode } from "../../src/testing/index.js";
import { freshLocalHome, freshTeamRegistry, freshUrl } from "./helpers.js";

let home: string;
let teamDir: string;

beforeAll(async () => {
  home = freshLocalHome();
  const team = await freshUrl("file", "team-registry");
  teamDir = team.path;
  process.env.STOWAGE_TEAM_REGISTRY = team.url;
});

afterAll(closeSystems);

function everyStoredByte(dir: string): Buffer {
  const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
  // File names count too: the record keys carry addresses.
  return Buffer.concat(files.flatMap((entry) => [Buffer.from(join(entry.parentPath, entry.name)), readFileSync(join(entry.parentPath, entry.name))]));
}

describe("explicit credentials", () => {
  const s3Secret = () => process.env.STOWAGE_TEST_S3_EXPLICIT_SECRET!;
  const azureConnection = () => process.env.AZURE_STORAGE_CONNECTION_STRING!;
  const sshKey = () => readFileSync(process.env.STOWAGE_TEST_SSH_KEY!, "utf8");
  const gsKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();

  it("are used by the resource: a wrong s3 secret is refused, the right one works", async () => {
    const { url } = await freshUrl("s3", "explicit");
    const wrong = blob({
      data: "x",
      path: `${url}/wrong.bin`,
      credentials: { accessKeyId: process.env.STOWAGE_TEST_S3_EXPLICIT_KEY_ID!, secretAccessKey: "not-the-secret" },
    });
    await expectCode(wrong.write(), "PermissionDenied");
    const right = blob({
      data: "x",
      path: `${url}/right.bin`,
      credentials: { accessKeyId: process.env.STOWAGE_TEST_S3_EXPLICIT_KEY_ID!, secretAccessKey: s3Secret() },
    });
    await right.write();
    expect(await right.fetch("utf8")).toBe("x");
  });

  it("are never printed or serialised", () => {
    const b = blob({ path: "s3://bucket/key", credentials: { accessKeyId: "AKIAEXAMPLE", secretAccessKey: s3Secret() } });
    expect(JSON.stringify(b.address)).not.toContain(s3Secret());
    expect(inspect(b, { depth: 10 })).not.toContain(s3Secret());
    expect(JSON.stringify(b)).not.toContain(s3Secret());
  });

  it("are not saved, on any system's resource, in the local or the team registry", async () => {
    const s3 = await freshUrl("s3", "secrets");
    const azure = await freshUrl("azure", "secrets");
    const gs = await freshUrl("gs", "secrets");
    const ssh = await freshUrl("ssh", "secrets");
    const bodyLines = (pem: string) => pem.split("\n").filter((line) => line.length > 20 && !line.startsWith("-----"));
    const accountKey = /AccountKey=([^;]+)/.exec(azureConnection())![1]!;
    const secrets = [s3Secret(), azureConnection(), accountKey, "hunter2-passphrase", "s3cr3t-password", ...bodyLines(sshKey()), ...bodyLines(gsKey)];
    expect(secrets.length).toBeGreaterThan(8);

    const s3Blob = blob({
      data: "s3 data",
      path: `${s3.url}/b.bin`,
      credentials: { accessKeyId: process.env.STOWAGE_TEST_S3_EXPLICIT_KEY_ID!, secretAccessKey: s3Secret() },
    });
    const azureTable = table({ data: [{ a: 1 }, { a: 2 }], path: `${azure.url}/t`, credentials: { connectionString: azureConnection() } });
    const gsFolder = folder({ path: gs.url, credentials: { clientEmail: "robot@project.iam.gserviceaccount.com", privateKey: gsKey } });
    const sshBlob = blob({ data: "ssh data", path: `${ssh.url}/b.bin`, credentials: { privateKey: sshKey(), password: "s3cr3t-password" } });
    const box = cluster({ host: process.env.STOWAGE_TEST_SSH_HOST!, credentials: { privateKey: sshKey(), passphrase: "hunter2-passphrase" } });

    await gsFolder.put({ "a.txt": "gs data" });
    for (const scope of ["~/", "@/"]) {
      await s3Blob.save(`${scope}secret/s3`);
      await azureTable.save(`${scope}secret/azure`);
      await gsFolder.save(`${scope}secret/gs`);
      await sshBlob.save(`${scope}secret/ssh`);
      await box.save(`${scope}secret/box`);
    }
    // The resources really worked with their credentials: the data is there.
    expect(await (await Blob.fromName("@/secret/s3")).fetch("utf8")).toBe("s3 data");
    expect(await (await Blob.fromName("~/secret/ssh")).fetch("utf8")).toBe("ssh data");
    expect((await box.run("echo ok")).stdout.toString().trim()).toBe("ok");
    expect((await Cluster.fromName("@/secret/box")).host).toBe(process.env.STOWAGE_TEST_SSH_HOST);

    for (const dir of [home, teamDir]) {
      const stored = everyStoredByte(dir).toString("utf8");
      expect(stored.length).toBeGreaterThan(0);
      expect(stored).toContain("secret"); // the names are there...
      for (const secret of secrets) expect(stored.includes(secret), `a secret was stored in ${dir}`).toBe(false);
    }
  });
});

describe("a team registry on a system other than the data's", () => {
  it("records where the data is, whichever system holds the registry", async () => {
    await freshTeamRegistry("s3");
    const { url } = await freshUrl("azure", "cross");
    const saved = await blob({ data: "cross", path: `${url}/x.bin` }).save("@/cross/x");
    expect((await Blob.fromName("@/cross/x")).url).toBe(saved.url);
  });
});
