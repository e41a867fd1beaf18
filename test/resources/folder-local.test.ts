/** Folder, Blob and the transfer engine on the local disk (the other systems: test/transfer). */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { blob, copy, folder, sync, type ProgressEvent } from "../../src/index.js";
import { expectCode } from "../../src/testing/index.js";
import { tempDir } from "../support/process.js";

function localTree(): string {
  return tempDir("folder");
}

describe("Folder on the local disk", () => {
  it("puts, lists, gets and opens files", async () => {
    const dir = localTree();
    const f = folder({ path: join(dir, "ckpts") });
    await f.put({ "a.txt": "hello", "sub/b.bin": Buffer.from([0, 1, 2, 3, 4, 5]), "sub/c.txt": Readable.from([Buffer.from("streamed")]) });
    expect(await f.ls()).toEqual(["a.txt", "sub"]);
    expect(await f.ls({ recursive: true })).toEqual(["a.txt", "sub/b.bin", "sub/c.txt"]);
    const details = await f.ls({ recursive: true, details: true });
    expect(details.map((e) => [e.path, e.size, e.type])).toEqual([
      ["a.txt", 5, "file"],
      ["sub/b.bin", 6, "file"],
      ["sub/c.txt", 8, "file"],
    ]);
    expect(details[0]!.mtime).toBeInstanceOf(Date);
    expect(await f.get("a.txt", "utf8")).toBe("hello");
    expect([...(await f.get("sub/b.bin"))]).toEqual([0, 1, 2, 3, 4, 5]);
    const ranged = await f.open("sub/b.bin", { start: 1, end: 3 });
    expect([...Buffer.concat(await ranged.toArray())]).toEqual([1, 2, 3]);
    expect(await f.exists()).toBe(true);
    expect(await f.contains("a.txt")).toBe(true);
    expect(await f.contains("nope.txt")).toBe(false);
  });

  it("refuses to overwrite with overwrite:false and writes nothing", async () => {
    const f = folder(localTree());
    await f.put({ "a.txt": "one" });
    await expectCode(f.put({ "new.txt": "x", "a.txt": "two" }, { overwrite: false }), "AlreadyExists");
    expect(await f.get("a.txt", "utf8")).toBe("one");
    expect(await f.contains("new.txt")).toBe(false);
  });

  it("resolves relative paths against the working directory and rejects escaping names", async () => {
    expect(folder({ path: "ckpts" }).path).toBe(join(process.cwd(), "ckpts"));
    const f = folder(localTree());
    await expectCode(f.put({ "../escape.txt": "x" }), "InvalidInput");
    await expectCode(f.get("/etc/passwd"), "InvalidInput");
  });

  it("gives NotADirectory for a file where a folder is expected, NotFound for missing files", async () => {
    const dir = localTree();
    await folder(dir).put({ "file.txt": "x" });
    await expectCode(folder(join(dir, "file.txt")).ls(), "NotADirectory");
    await expectCode(folder(dir).get("missing.txt"), "NotFound");
    await expectCode(folder(join(dir, "missing")).ls(), "NotFound");
  });

  it("mkdir, rm of some files, rm of the whole folder", async () => {
    const f = folder(join(localTree(), "made"));
    expect(await f.exists()).toBe(false);
    await f.mkdir();
    expect(await f.exists()).toBe(true);
    await f.put({ "a.txt": "a", "b.txt": "b", "d/c.txt": "c" });
    await f.rm(["a.txt", "d"]);
    expect(await f.ls({ recursive: true })).toEqual(["b.txt"]);
    await f.rm();
    expect(await f.exists()).toBe(false);
  });
});

describe("transfers on the local disk", () => {
  async function source(): Promise<ReturnType<typeof folder>> {
    const f = folder(join(localTree(), "src"));
    await f.put({ "a.txt": "alpha", "b/c.txt": "charlie", "b/d/e.bin": Buffer.alloc(300_000, 7), ".git/HEAD": "ref", "skip.log": "log" });
    return f;
  }

  it("to() copies every file, excludes .git/, and reports what it did", async () => {
    const src = await source();
    const events: ProgressEvent[] = [];
    const dest = await src.to(join(localTree(), "dest"), { onProgress: (e) => events.push(e) });
    expect(await dest.ls({ recursive: true })).toEqual(["a.txt", "b/c.txt", "b/d/e.bin", "skip.log"]);
    expect((await dest.get("b/d/e.bin")).equals(Buffer.alloc(300_000, 7))).toBe(true);
    expect(dest.report?.copied.map((f) => f.path).sort()).toEqual(["a.txt", "b/c.txt", "b/d/e.bin", "skip.log"]);
    expect(dest.report?.bytes).toBe(5 + 7 + 300_000 + 3);
    expect(dest.report?.ranOn).toEqual(["server-side"]);
    expect(events.filter((e) => e.type === "file").length).toBe(4);
    const last = events.at(-1);
    expect(last).toMatchObject({ type: "rate", filesDone: 4, filesTotal: 4, bytesDone: 300_015 });
  });

  it("include/exclude globs and ignore files choose the files", async () => {
    const src = await source();
    await src.put({ ".stowageignore": "*.log\n" });
    const dest = await src.to(join(localTree(), "dest"), { include: ["**/*.txt", "*.log"], ignoreFiles: [".stowageignore"] });
    expect(await dest.ls({ recursive: true })).toEqual(["a.txt", "b/c.txt"]);
  });

  it("dry-run plans without writing", async () => {
    const src = await source();
    const target = join(localTree(), "dest");
    const report = await copy(src, target, { dryRun: true });
    expect(report.dryRun).toBe(true);
    expect(report.copied).toHaveLength(4);
    expect(existsSync(target)).toBe(false);
  });

  it("sync skips unchanged files and deletes extras; skip modes leave matching files alone", async () => {
    const src = await source();
    const target = join(localTree(), "dest");
    await copy(src, target);
    await folder(target).put({ "extra.txt": "not in source" });
    await src.put({ "a.txt": "alpha2" });
    const report = await sync(src, target);
    expect(report.copied.map((f) => f.path)).toEqual(["a.txt"]);
    expect(report.skipped.map((f) => f.path).sort()).toEqual(["b/c.txt", "b/d/e.bin", "skip.log"]);
    expect(report.deleted.map((f) => f.path)).toEqual(["extra.txt"]);
    expect(await folder(target).ls({ recursive: true })).toEqual(["a.txt", "b/c.txt", "b/d/e.bin", "skip.log"]);
    const again = await copy(src, target, { skip: "size" });
    expect(again.copied).toEqual([]);
  });

  it("rejects a destination inside the source, a missing source and an unknown system", async () => {
    const src = await source();
    await expectCode(src.to(join(src.path, "inner")), "InvalidInput");
    expect(existsSync(join(src.path, "inner"))).toBe(false);
    await expectCode(folder(join(localTree(), "missing")).to(join(localTree(), "x")), "NotFound");
    await expectCode(copy(src, "ftp://host/x"), "InvalidInput");
    await expectCode(src.to({ system: "nope", path: "/x" }), "InvalidInput");
  });

  it("refuses to copy a folder onto a file", async () => {
    const src = await source();
    const dir = localTree();
    await folder(dir).put({ "file.txt": "x" });
    await expectCode(src.to(join(dir, "file.txt")), "NotADirectory");
    expect(await folder(dir).get("file.txt", "utf8")).toBe("x");
  });

  it("copies a single file into an existing directory, or to a new file path", async () => {
    const dir = localTree();
    await folder(dir).put({ "model.bin": "weights", "models/other.bin": "x" });
    const into = await copy(join(dir, "model.bin"), join(dir, "models"));
    expect(into.destination).toBe(join(dir, "models", "model.bin"));
    expect(await folder(join(dir, "models")).get("model.bin", "utf8")).toBe("weights");
    await copy(join(dir, "model.bin"), join(dir, "renamed.bin"));
    expect(await folder(dir).get("renamed.bin", "utf8")).toBe("weights");
  });

  it("mv copies then removes the source", async () => {
    const src = await source();
    const moved = await src.mv(join(localTree(), "moved"));
    expect(await moved.ls({ recursive: true })).toHaveLength(4);
    expect(await src.exists()).toBe(false);
  });
});

describe("Blob on the local disk", () => {
  it("writes, fetches, opens ranges, copies, checks and removes", async () => {
    const dir = localTree();
    const b = blob({ data: "0123456789", path: join(dir, "model.bin") });
    expect(await b.exists()).toBe(false);
    await b.write();
    expect(await b.exists()).toBe(true);
    expect(await b.fetch("utf8")).toBe("0123456789");
    expect(Buffer.concat(await (await b.open({ start: 2, end: 4 })).toArray()).toString()).toBe("234");
    const copied = await b.to(join(dir, "copies", "model.bin"));
    expect(await copied.fetch("utf8")).toBe("0123456789");
    await b.rm();
    expect(await b.exists()).toBe(false);
    await expectCode(b.fetch(), "NotFound");
  });

  it("gets a default location under the cache directory when no path is given", async () => {
    const home = tempDir("cache");
    const previous = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = home;
    try {
      const b = await blob({ data: "cached" }).write();
      expect(b.path.startsWith(join(home, "stowage", "blobs"))).toBe(true);
      expect(await b.fetch("utf8")).toBe("cached");
      expect(readdirSync(join(home, "stowage", "blobs"))).toHaveLength(1);
    } finally {
      if (previous === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = previous;
    }
  });

  it("needs a default bucket for object stores without a path", () => {
    expect(() => blob({ data: "x", system: "s3" })).toThrowError(expect.objectContaining({ code: "InvalidInput" }));
  });
});
