/**
 * Bad input to names and constructors: each gives its StowageError code, and nothing is written,
 * neither the data nor a record.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Blob, blob, closeSystems, cluster, folder, list, load, remove, table } from "../../src/index.js";
import { expectCode } from "../../src/testing/index.js";
import { freePort, tempDir } from "../support/process.js";
import { freshLocalHome } from "./helpers.js";

let home: string;
let dataDir: string;

beforeAll(() => {
  home = freshLocalHome();
  dataDir = tempDir("bad-input-data");
  delete process.env.STOWAGE_TEAM_REGISTRY;
});

afterAll(closeSystems);

/** Every file below `dir`, relative. */
function filesBelow(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

describe("bad names", () => {
  const BAD = [
    "@/../escape",
    "~/a/../b",
    "a//b",
    "/abs",
    "a/",
    "",
    "a/./b",
    "with space",
    "tab\tname",
    "nul\u0000",
    "a\\b",
    "x@0",
    "x@y",
    "a@b/c",
    "a".repeat(201),
    `${"b".repeat(101)}/c`,
  ];

  it.each(BAD)("refuses %j before writing anything", async (name) => {
    const target = join(dataDir, `data-${BAD.indexOf(name)}.bin`);
    await expectCode(blob({ data: "payload", path: target }).save(name), "InvalidInput");
    expect(existsSync(target)).toBe(false);
    expect(() => blob({ data: "payload", path: target, name })).toThrow(expect.objectContaining({ code: "InvalidInput" }));
    await expectCode(load(name), "InvalidInput");
    expect(filesBelow(home)).toEqual([]);
  });

  it("refuses a version where none makes sense, and a prefix that escapes", async () => {
    await expectCode(blob({ data: "x", path: join(dataDir, "v.bin") }).save("model@2"), "InvalidInput");
    await expectCode(remove("model@2"), "InvalidInput");
    await expectCode(list("~/", { prefix: "../" }), "InvalidInput");
    expect(existsSync(join(dataDir, "v.bin"))).toBe(false);
  });

  it("gives NotFound for a name never saved, and for a version it does not have", async () => {
    await expectCode(load("never/saved"), "NotFound");
    await expectCode(Blob.fromName("never/saved"), "NotFound");
    await blob({ data: "one", path: join(dataDir, "one.bin") }).save("has/one");
    await expectCode(load("has/one@2"), "NotFound");
    await expectCode(remove("never/saved"), "NotFound");
  });

  it("refuses a record written by a newer format, with Unsupported", async () => {
    const versions = join(home, "registry", "names", "future", "@v");
    mkdirSync(versions, { recursive: true });
    const record = {
      format: 2,
      name: "~/future",
      type: "blob",
      address: { system: "file", path: "/x" },
      url: "/x",
      savedAt: new Date().toISOString(),
      savedBy: "a@b",
    };
    writeFileSync(join(versions, `v000001-${String(Date.now()).padStart(13, "0")}-0a1b2c3d-blob-%2Fx.json`), JSON.stringify(record));
    await expectCode(load("future"), "Unsupported");
  });
});

describe("the team registry", () => {
  it("is InvalidInput when none is configured, and nothing is written", async () => {
    const target = join(dataDir, "team.bin");
    await expectCode(blob({ data: "x", path: target }).save("@/x"), "InvalidInput");
    await expectCode(list("@/"), "InvalidInput");
    expect(existsSync(target)).toBe(false);
  });

  it("is Unavailable, naming its URL, when it cannot be reached, and nothing is written", async () => {
    // The test host's alias (its key and known host), on a port where nothing listens.
    const url = `ssh://${process.env.STOWAGE_TEST_SSH_HOST}:${await freePort()}/srv/registry`;
    process.env.STOWAGE_TEAM_REGISTRY = url;
    try {
      const target = join(dataDir, "unreachable.bin");
      const error = await blob({ data: "x", path: target })
        .save("@/x")
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "Unavailable", path: url });
      expect(existsSync(target)).toBe(false);
      await expectCode(load("@/x"), "Unavailable");
      await expectCode(list("@/"), "Unavailable");
    } finally {
      delete process.env.STOWAGE_TEAM_REGISTRY;
    }
  });
});

describe("constructor options", () => {
  it("refuses an option a constructor does not know, for every resource", () => {
    const code = { code: "InvalidInput" };
    expect(() => folder({ path: dataDir, nme: "x" } as never)).toThrow(expect.objectContaining(code));
    expect(() => blob({ path: join(dataDir, "b"), overwrite: true } as never)).toThrow(expect.objectContaining(code));
    expect(() => table({ path: join(dataDir, "t"), partition_cols: ["a"] } as never)).toThrow(expect.objectContaining(code));
    expect(() => cluster({ host: "h", key: "secret" } as never)).toThrow(expect.objectContaining(code));
    expect(() => blob({ path: "s3://bucket/key", host: "h" })).toThrow(expect.objectContaining(code));
    expect(() => folder({ path: "s3://bucket/key", account: "acct" })).toThrow(expect.objectContaining(code));
    expect(() => blob({ path: "/tmp/x", credentials: { accessKeyId: "a", secretAccessKey: "b" } })).toThrow(expect.objectContaining(code));
    expect(() => blob({ path: "s3://bucket/key", credentials: { password: "p" } as never })).toThrow(expect.objectContaining(code));
    expect(() => folder({ path: dataDir, mkdir: "yes" } as never)).toThrow(expect.objectContaining(code));
  });

  it("refuses a system that contradicts the path's URL", () => {
    const code = { code: "InvalidInput" };
    expect(() => blob({ data: "x", path: "az://models/model.bin", system: "s3" })).toThrow(expect.objectContaining(code));
    expect(() => table({ path: "gs://bucket/t", system: "s3" })).toThrow(expect.objectContaining(code));
    expect(() => table({ path: { system: "gs", path: "/bucket/t" }, system: "s3" })).toThrow(expect.objectContaining(code));
    expect(() => folder({ path: "ssh://me@host/data", system: "ssh", user: "you" })).toThrow(expect.objectContaining(code));
    expect(() => folder({ system: "nosuchsystem", path: "/x" })).toThrow(expect.objectContaining(code));
  });

  it("takes a URL in path, never as a local path", () => {
    expect(blob({ data: "x", path: "az://models/model.bin" }).url).toBe("az://models/model.bin");
    expect(blob({ path: "s3://bucket/a/b" }).address).toMatchObject({ system: "s3", path: "/bucket/a/b" });
    expect(folder({ path: "gs://bucket/dir" }).address).toMatchObject({ system: "gs", path: "/bucket/dir" });
    expect(folder({ path: "ssh://me@host:2222/data" }).address).toMatchObject({ system: "ssh", host: "host", user: "me", port: 2222 });
    expect(table({ path: "s3://bucket/t", system: "s3" }).address).toMatchObject({ system: "s3", path: "/bucket/t" });
    expect(table({ name: "~/t", path: "/ds/bert_preproc", system: "s3" }).address).toMatchObject({ system: "s3", path: "/ds/bert_preproc" });
  });

  it("reads a path on a cluster as in an ssh:// URL", () => {
    expect(folder({ system: cluster({ host: "gpu-box" }), path: "~/ckpts" }).url).toBe("ssh://gpu-box/~/ckpts");
    expect(cluster({ host: "gpu-box", user: "me" }).address("~/ckpts")).toMatchObject({ host: "gpu-box", user: "me", path: "/~/ckpts" });
    expect(cluster({ host: "gpu-box" }).address("/data/ckpts").path).toBe("/data/ckpts");
  });

  it("refuses one-slash URLs and URLs without a bucket, and writes nothing", async () => {
    const before = readdirSync(process.cwd());
    for (const text of ["s3:/bucket/x", "gs:/bucket/x", "az:/container/x", "ssh:/host/x", "file:/x", "s3:bucket/x", "s3://", "gs://", "az://"]) {
      expect(() => folder(text), text).toThrow(expect.objectContaining({ code: "InvalidInput" }));
      expect(() => blob({ data: "x", path: text }), text).toThrow(expect.objectContaining({ code: "InvalidInput" }));
      expect(() => table({ path: text }), text).toThrow(expect.objectContaining({ code: "InvalidInput" }));
    }
    expect(() => folder({ system: "file", path: "s3:/bucket/x" })).toThrow(expect.objectContaining({ code: "InvalidInput" }));
    expect(readdirSync(process.cwd())).toEqual(before);
  });
});
