/** The file system's listing: many entries (stat'ed in concurrent chunks), part files and symlinks. */
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { openSystem } from "../../src/index.js";
import type { Entry, System } from "../../src/systems/contract.js";
import { tempDir } from "../support/process.js";

let root: string;
let system: System;

async function listed(path: string, recursive: boolean): Promise<Entry[]> {
  const entries: Entry[] = [];
  for await (const entry of system.list(path, { recursive })) entries.push(entry);
  return entries;
}

beforeAll(async () => {
  root = tempDir("file-list");
  mkdirSync(join(root, "many"));
  for (let i = 0; i < 150; i++) writeFileSync(join(root, "many", `f${i}`), "x".repeat(i));
  mkdirSync(join(root, "many", "sub"));
  writeFileSync(join(root, "many", "sub", "deep.txt"), "deep");
  writeFileSync(join(root, "many", ".f1.0123abcd.stowage-part"), "half-written");
  mkdirSync(join(root, "elsewhere"));
  writeFileSync(join(root, "elsewhere", "target.txt"), "pointed at");
  symlinkSync(join(root, "elsewhere"), join(root, "many", "dir-link"));
  symlinkSync(join(root, "elsewhere", "target.txt"), join(root, "many", "file-link"));
  system = await openSystem(root);
});

describe("file listing", () => {
  it("walks many entries with their sizes, skipping part files and not following directory links", async () => {
    const entries = await listed(join(root, "many"), true);
    const byName = new Map(entries.map((entry) => [entry.path.slice(root.length + "/many/".length), entry]));
    expect(byName.size).toBe(entries.length);
    const expected = [...Array.from({ length: 150 }, (_, i) => `f${i}`), "sub/deep.txt", "file-link"].sort();
    expect([...byName.keys()].sort()).toEqual(expected);
    for (let i = 0; i < 150; i++) expect(byName.get(`f${i}`)).toMatchObject({ type: "file", size: i });
    expect(byName.get("file-link")).toMatchObject({ type: "file", size: "pointed at".length });
  });

  it("one level lists subdirectories and directory links as directories", async () => {
    const entries = await listed(join(root, "many"), false);
    const types = new Map(entries.map((entry) => [entry.path.slice(root.length + "/many/".length), entry.type]));
    expect(types.size).toBe(150 + 3);
    expect(types.get("sub")).toBe("directory");
    expect(types.get("dir-link")).toBe("directory");
    expect(types.get("file-link")).toBe("file");
  });
});
