/**
 * The two headline examples of names, through the public API, with the team registry and the data
 * on every writable system, and the local registry beside them; then versions, history, list,
 * remove, resources() and a load from a fresh process that knows only the registry's URL.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Blob, Cluster, Folder, Table, blob, closeSystems, cluster, folder, list, load, remove, table } from "../../src/index.js";
import type { SystemName } from "../../src/systems/contract.js";
import { expectCode } from "../../src/testing/index.js";
import { tempDir } from "../support/process.js";
import { REGISTRY_SYSTEMS, freshLocalHome, freshTeamRegistry, freshUrl, runScript } from "./helpers.js";

const tokenized = Array.from({ length: 50 }, (_, i) => ({ id: i, text: `sentence ${i}`, tokens: i * 3 }));

beforeAll(() => {
  freshLocalHome();
});

afterAll(closeSystems);

/** How each system is named as `system` in a constructor; ssh goes by a cluster saved under a name. */
async function systemOption(system: SystemName): Promise<string> {
  if (system !== "ssh") return system;
  await cluster({ host: process.env.STOWAGE_TEST_SSH_HOST! }).save("test-box");
  return "test-box";
}

describe.each(REGISTRY_SYSTEMS)("names with the team registry and the data on %s", (system) => {
  let registryUrl: string;
  let dataRoot: string;

  beforeAll(async () => {
    registryUrl = await freshTeamRegistry(system);
    dataRoot = (await freshUrl(system, "data")).path;
  });

  it("saves a table as @/bert_tokenized and loads it back by name, version by version", async () => {
    const myTable = await table({
      data: tokenized,
      name: "@/bert_tokenized",
      path: `${dataRoot}/ds/bert_preproc`,
      system: await systemOption(system),
      mkdir: true,
    }).save();
    expect(myTable).toBeInstanceOf(Table);
    expect(myTable.version).toBe(1);

    const t2 = await load("@/bert_tokenized");
    expect(t2).toBeInstanceOf(Table);
    expect(await (t2 as Table).url()).toBe(await myTable.url());
    expect(await (t2 as Table).fetch({ format: "rows" })).toEqual(tokenized);
    const byName = await Table.fromName("@/bert_tokenized");
    expect(await byName.count()).toBe(50);

    // A second version, with other data somewhere else; version 1 stays as it was.
    const second = tokenized.slice(0, 10);
    await table({ data: second, path: `${dataRoot}/ds/bert_preproc_v2`, system: await systemOption(system) }).save("@/bert_tokenized", { note: "first ten" });
    expect(await (await Table.fromName("@/bert_tokenized")).count()).toBe(10);
    expect(await (await Table.fromName("@/bert_tokenized@1")).count()).toBe(50);
    const t3 = (await load("@/bert_tokenized@2")) as Table;
    expect(t3.version).toBe(2);

    const history = await byName.history();
    expect(history.map((h) => [h.version, h.type, h.note])).toEqual([
      [1, "table", undefined],
      [2, "table", "first ten"],
    ]);
    expect(history[0]!.address).toBe(await myTable.url());
    expect(history[0]!.savedAt.getTime()).toBeLessThanOrEqual(history[1]!.savedAt.getTime());
    expect(history[0]!.savedBy).toMatch(/.@./);

    const names = await list("@/");
    const entry = names.find((n) => n.name === "@/bert_tokenized");
    expect(entry).toMatchObject({ type: "table", version: 2 });
    expect(entry!.url).toBe(await t3.url());
  });

  it("saves a blob under a team name, keeps its bytes, and refuses a load as the wrong type", async () => {
    const bytes = Buffer.from(`model weights on ${system}`);
    const saved = await blob({ data: bytes, name: "@/models/weights", path: `${dataRoot}/models/model.bin`, system: await systemOption(system) }).save();
    expect(saved.version).toBe(1);
    const myBlob = await Blob.fromName("@/models/weights");
    const raw = await myBlob.fetch();
    expect(raw.equals(bytes)).toBe(true);
    await expectCode(Table.fromName("@/models/weights"), "InvalidInput");
  });

  it("loads a name in a fresh process that has only the registry URL", async () => {
    const bytes = `from another process on ${system}`;
    await blob({ data: bytes, path: `${dataRoot}/shared/note.txt`, system: await systemOption(system) }).save("@/shared/note");
    // Another local registry: only the team registry's URL (and the provider's own settings) link the two.
    const child = await runScript("child-load.ts", ["@/shared/note"], {
      ...process.env,
      STOWAGE_HOME: tempDir("other-home"),
      STOWAGE_TEAM_REGISTRY: registryUrl,
    });
    expect(child.stderr).toBe("");
    expect(child.code).toBe(0);
    expect(JSON.parse(child.stdout)).toEqual({ type: "blob", version: 1, text: bytes });
  });

  it("lists exactly the named resources whose data lives below a folder", async () => {
    const shelf = `${dataRoot}/shelf`;
    const sys = await systemOption(system);
    await blob({ data: "a", path: `${shelf}/a.bin`, system: sys }).save("@/shelf/a");
    await (await folder({ path: `${shelf}/sub`, system: sys, mkdir: true }).put({ "inside.txt": "x" })).save("@/shelf/sub");
    await blob({ data: "elsewhere", path: `${dataRoot}/shelf-not/b.bin`, system: sys }).save("@/shelf/elsewhere");
    const below = await folder({ path: shelf, system: sys }).resources();
    expect(below.map((entry) => entry.name).sort()).toEqual(["@/shelf/a", "@/shelf/sub"]);
    expect(await (await Folder.fromName("@/shelf/sub")).exists()).toBe(true);
  });

  it("removes a name with all its versions, and with { data: true } its data too", async () => {
    const sys = await systemOption(system);
    const kept = blob({ data: "kept", path: `${dataRoot}/rm/kept.bin`, system: sys });
    await kept.save("@/rm/kept");
    await kept.save("@/rm/kept");
    await remove("@/rm/kept");
    await expectCode(load("@/rm/kept"), "NotFound");
    expect(await kept.exists()).toBe(true);

    const gone = blob({ data: "gone", path: `${dataRoot}/rm/gone.bin`, system: sys });
    await gone.save("@/rm/gone");
    await remove("@/rm/gone", { data: true });
    expect(await gone.exists()).toBe(false);
    await expectCode(load("@/rm/gone"), "NotFound");
    await expectCode(remove("@/rm/gone"), "NotFound");
  });
});

describe("names in the local registry", () => {
  it("saves and loads a blob by a bare name, as the headline example does", async () => {
    await blob({ data: Buffer.from([1, 2, 3]), name: "my_blob" }).save();
    const myBlob = await Blob.fromName("my_blob");
    const raw = await myBlob.fetch();
    expect([...raw]).toEqual([1, 2, 3]);
    expect(myBlob.name).toBe("~/my_blob");
    expect((await Blob.fromName("~/my_blob")).url).toBe(myBlob.url);
  });

  it("keeps a named resource without a path at a default place named after it", async () => {
    const named = folder({ name: "ds/scratch" });
    expect(named.path.endsWith("/folders/ds/scratch")).toBe(true);
    const other = folder({ name: "ds/scratch" });
    expect(other.path).toBe(named.path);
  });

  it("lists local names by prefix, with type, latest version and where the data lives", async () => {
    await blob({ data: "1", name: "ds/one" }).save();
    await folder({ name: "ds/two", mkdir: true }).save();
    await blob({ data: "3", name: "other/three" }).save();
    const ds = await list("~/", { prefix: "ds/" });
    expect(ds.map((entry) => [entry.name, entry.type, entry.version])).toEqual([
      ["~/ds/one", "blob", 1],
      ["~/ds/two", "folder", 1],
    ]);
    expect(ds[0]!.url).toBe((await Blob.fromName("ds/one")).url);
    expect((await list()).some((entry) => entry.name === "~/other/three")).toBe(true);
  });

  it("saves a cluster by host, user and port, and resolves its name as a system and in ssh:// URLs", async () => {
    const saved = await cluster({ host: "10.1.2.3", user: "ubuntu", port: 22 }).save("gpu-box");
    expect(saved.version).toBe(1);
    const onBox = folder({ system: "gpu-box", path: "/data" });
    expect(onBox.address).toMatchObject({ system: "ssh", host: "10.1.2.3", user: "ubuntu", port: 22, path: "/data" });
    expect(folder("ssh://gpu-box/data").url).toBe("ssh://ubuntu@10.1.2.3:22/data");
    const back = await Cluster.fromName("gpu-box");
    expect([back.host, back.user, back.port]).toEqual(["10.1.2.3", "ubuntu", 22]);
    await expectCode(cluster({ host: "h" }).save("s3"), "InvalidInput");
  });
});
