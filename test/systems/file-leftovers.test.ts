/** Part files a killed writer left on the local disk are removed by a later write into their directory. */
import { mkdirSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createFileSystem } from "../../src/systems/file/system.js";
import { tempDir } from "../support/process.js";

const DAY = 24 * 60 * 60 * 1000;
const system = createFileSystem();

function aged(path: string, days: number): void {
  const when = new Date(Date.now() - days * DAY);
  utimesSync(path, when, when);
}

describe("file system leftovers", () => {
  it("a write removes the part files beside it untouched for over a day, and keeps younger ones and everything else", async () => {
    const dir = join(tempDir("file-leftovers"), "target");
    mkdirSync(dir);
    const stale = ".big.bin.0123abcd0.stowage-part";
    const young = ".big.bin.0123abcd1.stowage-part";
    for (const [name, days] of [
      [stale, 2],
      [young, 0.9],
      ["old.txt", 3],
      [".hidden-old", 3],
    ] as const) {
      writeFileSync(join(dir, name), "x");
      aged(join(dir, name), days);
    }
    // A directory named like a part file is not one this system writes: it stays.
    mkdirSync(join(dir, ".odd.stowage-part"));
    aged(join(dir, ".odd.stowage-part"), 3);

    await system.write(join(dir, "new.txt"), Buffer.from("new"));
    expect(readdirSync(dir).sort()).toEqual([".hidden-old", ".odd.stowage-part", young, "new.txt", "old.txt"].sort());
  });

  it("a streamed write sweeps too, and a directory is swept once per process", async () => {
    const dir = join(tempDir("file-leftovers"), "target");
    mkdirSync(dir);
    writeFileSync(join(dir, ".a.0.stowage-part"), "x");
    aged(join(dir, ".a.0.stowage-part"), 2);
    await system.write(join(dir, "first.bin"), Readable.from([Buffer.from("streamed")]));
    expect(readdirSync(dir).sort()).toEqual(["first.bin"]);

    writeFileSync(join(dir, ".b.0.stowage-part"), "x");
    aged(join(dir, ".b.0.stowage-part"), 2);
    await system.write(join(dir, "second.bin"), Buffer.from("x"));
    expect(readdirSync(dir).sort()).toEqual([".b.0.stowage-part", "first.bin", "second.bin"]);
  });
});
