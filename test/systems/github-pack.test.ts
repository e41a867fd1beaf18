/**
 * The packfile parser against packs the git CLI writes: whole objects, OFS_DELTA (bases by
 * position) and REF_DELTA (bases by id) must all come out equal to `git cat-file`.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GitProtocolError } from "../../src/systems/github/errors.js";
import { parsePack } from "../../src/systems/github/pack.js";
import { parseTree } from "../../src/systems/github/tree.js";
import { buildRepository, git } from "../servers/git-fixture.js";
import { seededBytes } from "../support/seed.js";

let dir: string;
let gitDir: string;
let ids: string[];

function versions(count: number): Buffer[] {
  const base = seededBytes(20_000, 41);
  return Array.from({ length: count }, (_, i) => Buffer.concat([base.subarray(0, 5000 + i * 100), Buffer.from(`edit ${i}`), base.subarray(5000 + i * 100)]));
}

/** A pack of every object, deltas computed afresh; OFS_DELTA with `offsets`, else REF_DELTA. */
function packAll(offsets: boolean): Buffer {
  const args = ["--git-dir", gitDir, "pack-objects", "--stdout", "--no-reuse-delta", "--window=10", "-q"];
  if (offsets) args.push("--delta-base-offset");
  return Buffer.from(git(args, { input: Buffer.from(ids.join("\n") + "\n"), binary: true }), "latin1");
}

/** How many entries of `pack` git itself reads as deltas (`verify-pack -v` adds depth and base). */
function deltaCount(pack: Buffer): number {
  const file = join(dir, "check.pack");
  writeFileSync(file, pack);
  git(["--git-dir", gitDir, "index-pack", file]);
  return git(["--git-dir", gitDir, "verify-pack", "-v", file.replace(/\.pack$/, ".idx")])
    .split("\n")
    .filter((line) => /^[0-9a-f]{40} \w+ +\d+ \d+ \d+ \d+ [0-9a-f]{40}$/.test(line)).length;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "stowage-pack-"));
  gitDir = join(dir, "repo.git");
  await buildRepository(
    gitDir,
    versions(6).map((content, i) => ({
      branch: "main",
      message: `v${i}`,
      files: [
        ["data/file.txt", content],
        [`data/n${i}.txt`, Buffer.from(`${i}\n`)],
      ] as [string, Buffer][],
    })),
  );
  ids = git(["--git-dir", gitDir, "rev-list", "--objects", "--all"])
    .split("\n")
    .filter(Boolean)
    .map((line) => line.slice(0, 40));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("packfile parser", () => {
  for (const offsets of [true, false]) {
    it(`resolves ${offsets ? "OFS_DELTA" : "REF_DELTA"} entries to the objects git stores`, () => {
      const pack = packAll(offsets);
      expect(deltaCount(pack)).toBeGreaterThanOrEqual(4);
      const objects = parsePack(pack, () => undefined);
      expect([...objects.keys()].sort()).toEqual([...ids].sort());
      for (const id of ids) {
        const type = git(["--git-dir", gitDir, "cat-file", "-t", id]).trim();
        const content = Buffer.from(git(["--git-dir", gitDir, "cat-file", type, id], { binary: true }), "latin1");
        expect(objects.get(id)?.type).toBe(type);
        expect(objects.get(id)?.data.equals(content), `${type} ${id}`).toBe(true);
      }
    });
  }

  it("reads trees as git lists them", () => {
    const objects = parsePack(packAll(true), () => undefined);
    const treeId = git(["--git-dir", gitDir, "rev-parse", "main:data"]).trim();
    const listed = git(["--git-dir", gitDir, "ls-tree", "main:data"])
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const [mode, , id, name] = line.split(/\s+/);
        return { mode: mode!.replace(/^0/, ""), id, name };
      });
    expect(parseTree(objects.get(treeId)!.data).map(({ mode, id, name }) => ({ mode, id, name }))).toEqual(listed);
  });

  it("rejects a corrupted pack", () => {
    const pack = packAll(true);
    pack[pack.length - 100]! ^= 0xff;
    expect(() => parsePack(pack, () => undefined)).toThrow(GitProtocolError);
  });
});
