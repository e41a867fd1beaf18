/**
 * The github system checked by outside eyes: the git CLI on the same bare repositories the test
 * server serves. Listings must equal `git ls-tree`, contents `git cat-file`, and what the git CLI
 * pushes must be readable at once.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { need, writable } from "../../src/systems/extensions.js";
import { folder } from "../../src/index.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAddress } from "../../src/systems/addresses.js";
import { readAll } from "../../src/systems/body.js";
import type { Entry, System } from "../../src/systems/contract.js";
import { SystemRegistry } from "../../src/systems/registry.js";
import { expectCode } from "../../src/testing/index.js";
import { git } from "../servers/git-fixture.js";
import { FEATURE_FILE, HISTORY_ONLY_PATH } from "../servers/git-http.js";
import { BIG_SEED_PATH, seededBytes } from "../support/seed.js";

const REPO = process.env.STOWAGE_TEST_GITHUB_REPO!;
const GIT_DIR = join(process.env.STOWAGE_TEST_GIT_ROOT!, `${REPO}.git`);
const registry = new SystemRegistry();
let system: System;

async function collect(iterable: AsyncIterable<Entry>): Promise<Entry[]> {
  const entries: Entry[] = [];
  for await (const entry of iterable) entries.push(entry);
  return entries;
}

async function bytes(path: string): Promise<Buffer> {
  return readAll(await system.read(path));
}

/** `git ls-tree -r -l <ref>` as path → size, blobs only (submodules are commits, not files). */
function gitFiles(ref: string): Map<string, number> {
  const files = new Map<string, number>();
  for (const line of git(["--git-dir", GIT_DIR, "ls-tree", "-r", "-l", "-z", ref]).split("\0")) {
    const match = /^\d+ (\w+) [0-9a-f]{40} +(\S+)\t(.*)$/s.exec(line);
    if (match && match[1] === "blob") files.set(match[3]!, Number(match[2]));
  }
  return files;
}

function listedFiles(entries: Entry[], root: string): Map<string, number> {
  return new Map(entries.map((e) => [e.path.slice(root.length + 1), e.size]));
}

beforeAll(async () => {
  system = await registry.open(parseAddress(`github://${REPO}`));
});

afterAll(() => registry.closeAll());

describe("github against the git CLI", () => {
  it("lists recursively exactly what `git ls-tree -r` shows, with the same sizes", async () => {
    for (const ref of ["main", "v1.0", "feature/x"]) {
      const root = `/${REPO}@${ref}`;
      const listed = listedFiles(await collect(system.list(root, { recursive: true })), root);
      const expected = gitFiles(ref);
      expect([...listed.keys()].sort()).toEqual([...expected.keys()].sort());
      expect(listed).toEqual(expected);
      const names = git(["--git-dir", GIT_DIR, "ls-tree", "-r", "--name-only", "-z", ref]).split("\0").filter(Boolean);
      // ls-tree --name-only also names submodules, which are directories here, not files.
      expect(names.filter((name) => !listed.has(name))).toEqual(ref === "feature/x" ? ["vendor/lib"] : []);
    }
  });

  it("reads files byte-equal to `git cat-file`", async () => {
    for (const [ref, path] of [
      ["main", "range.bin"],
      ["main", "special/a#b?c%d+e.txt"],
      ["v1.0", HISTORY_ONLY_PATH],
      ["feature/x", FEATURE_FILE],
    ] as const) {
      const expected = Buffer.from(git(["--git-dir", GIT_DIR, "cat-file", "blob", `${ref}:${path}`], { binary: true }), "latin1");
      expect((await bytes(`/${REPO}@${ref}/${path}`)).equals(expected), `${ref}:${path}`).toBe(true);
    }
  });

  it("reads a commit the git CLI just pushed, at its branch and at its commit id", async () => {
    const work = mkdtempSync(join(tmpdir(), "stowage-git-work-"));
    try {
      const branch = `pushed/${Date.now()}`;
      const run = (...args: string[]) => git(["-C", work, "-c", "user.name=T", "-c", "user.email=t@t.invalid", ...args]);
      run("init", "--quiet");
      const first = seededBytes(300_000, 21);
      writeFileSync(join(work, "data.bin"), first);
      run("add", "-A");
      run("commit", "--quiet", "-m", "one");
      // A small edit: git may store the new blob as a delta of the old one; it must still arrive whole.
      const second = Buffer.concat([first.subarray(0, 1000), Buffer.from("changed"), first.subarray(1007)]);
      writeFileSync(join(work, "data.bin"), second);
      writeFileSync(join(work, "notes.txt"), "pushed by the git CLI\n");
      run("add", "-A");
      run("commit", "--quiet", "-m", "two");
      run("push", "--quiet", GIT_DIR, `HEAD:refs/heads/${branch}`);
      const commit = run("rev-parse", "HEAD").trim();

      expect((await bytes(`/${REPO}@${branch}/data.bin`)).equals(second)).toBe(true);
      expect((await bytes(`/${REPO}@${commit}/notes.txt`)).toString()).toBe("pushed by the git CLI\n");
      const previous = run("rev-parse", "HEAD~1").trim();
      expect((await bytes(`/${REPO}@${previous}/data.bin`)).equals(first)).toBe(true);
      await expectCode(system.stat(`/${REPO}@${previous}/notes.txt`), "NotFound", "github");
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});

describe("github addresses", () => {
  it("resolves the tag (peeled to its commit), a branch with a slash and a full commit id", async () => {
    const tagged = (await collect(system.list(`/${REPO}@v1.0`))).map((e) => e.path);
    expect(tagged).toContain(`/${REPO}@v1.0/${HISTORY_ONLY_PATH}`);
    expect(tagged).not.toContain(`/${REPO}@v1.0/${BIG_SEED_PATH}`);
    expect((await bytes(`/${REPO}@feature/x/${FEATURE_FILE}`)).toString()).toBe("feature\n");
    expect((await system.stat(`/${REPO}@feature/x/nested/a`)).type).toBe("directory");
    const commit = git(["--git-dir", GIT_DIR, "rev-parse", "v1.0^{commit}"]).trim();
    expect((await system.stat(`/${REPO}@${commit}/${HISTORY_ONLY_PATH}`)).size).toBe(2 << 20);
  });

  it("serves the default branch without @ref, and the repository root as a directory", async () => {
    expect(await system.stat(`/${REPO}@main`)).toMatchObject({ type: "directory", path: `/${REPO}@main` });
    expect(await system.stat(`/${REPO}`)).toMatchObject({ type: "directory" });
    const paths = (await collect(system.list(`/${REPO}/nested`))).map((e) => e.path).sort();
    expect(paths).toEqual([`/${REPO}/nested/a`, `/${REPO}/nested/top.txt`]);
  });

  it("reads https://<server>/owner/repo/tree/<ref>/<path> addresses", async () => {
    const address = parseAddress(`${process.env.GITHUB_SERVER_URL}/${REPO}/tree/feature/x/${FEATURE_FILE}`);
    expect(address).toMatchObject({ system: "github", path: `/${REPO}@feature/x/${FEATURE_FILE}`, server: process.env.GITHUB_SERVER_URL });
    const viaUrl = await registry.open(address);
    expect((await readAll(await viaUrl.read(address.path))).toString()).toBe("feature\n");
    expect(parseAddress(`https://github.com/${REPO}/tree/feature/x/nested`).path).toBe(`/${REPO}@feature/x/nested`);
  });

  it("serves a symlink as a file holding its target, and a submodule as an empty directory", async () => {
    expect((await bytes(`/${REPO}@feature/x/link`)).toString()).toBe("nested/top.txt");
    expect(await system.stat(`/${REPO}@feature/x/vendor/lib`)).toMatchObject({ type: "directory", size: 0 });
    expect(await collect(system.list(`/${REPO}@feature/x/vendor/lib`))).toEqual([]);
    expect((await collect(system.list(`/${REPO}@feature/x/vendor`))).map((e) => [e.path, e.type])).toEqual([[`/${REPO}@feature/x/vendor/lib`, "directory"]]);
  });
});

describe("github errors", () => {
  it("rejects every change with Unsupported", async () => {
    // A read-only system has no writes at all; asking for them is Unsupported, in one place.
    expect([system.write, system.delete, system.mkdir, system.copy, system.exec]).toEqual([undefined, undefined, undefined, undefined, undefined]);
    const asked = (ask: () => unknown) => Promise.resolve().then(ask);
    await expectCode(
      asked(() => writable(system, "write", `/${REPO}@main/new.txt`)),
      "Unsupported",
      "github",
    );
    await expectCode(
      asked(() => need(system, "copy", "copy", `/${REPO}@main/nested/top.txt`)),
      "Unsupported",
      "github",
    );
    await expectCode(
      asked(() => need(system, "exec")),
      "Unsupported",
      "github",
    );
    // And through the public API: a folder on GitHub refuses a put.
    await expectCode(folder(`github://${REPO}@main/nested`).put({ "x.txt": "x" }), "Unsupported", "github");
  });

  it("gives NotFound for a missing repository, ref, commit and path", async () => {
    await expectCode(system.stat(`/stowage/no-such-repo@main/x`), "NotFound", "github");
    await expectCode(system.read(`/stowage/no-such-repo/x`), "NotFound", "github");
    await expectCode(system.stat(`/${REPO}@no-such-branch/nested`), "NotFound", "github");
    await expectCode(system.read(`/${REPO}@${"0123456789".repeat(4)}/nested/top.txt`), "NotFound", "github");
    await expectCode(system.read(`/${REPO}@main/nested/top.txt/below`), "NotFound", "github");
    await expectCode(collect(system.list(`/${REPO}@no-such-branch`)), "NotFound", "github");
  });

  it("refuses to read a directory and to list above a repository", async () => {
    await expectCode(system.read(`/${REPO}@main/nested`), "IsADirectory", "github");
    await expectCode(collect(system.list("/")), "Unsupported", "github");
    await expectCode(collect(system.list("/stowage")), "Unsupported", "github");
  });
});
