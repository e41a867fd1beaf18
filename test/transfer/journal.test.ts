/**
 * Resume journals of transfers nobody re-ran are removed after a month, the first time a process
 * opens a journal; recent ones (a re-run may still come) and other files stay.
 */
import { mkdir, readdir, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expect, it } from "vitest";
import { copy } from "../../src/index.js";
import { tempDir } from "../support/process.js";

it("removes month-old transfer journals and keeps recent ones", async () => {
  const cache = tempDir("journal-cache");
  process.env.XDG_CACHE_HOME = cache;
  const journals = join(cache, "stowage", "transfers");
  await mkdir(journals, { recursive: true });
  const day = 24 * 3600;
  const now = Date.now() / 1000;
  for (const [name, age] of [
    ["abandoned.jsonl", 31 * day],
    ["recent.jsonl", 29 * day],
    ["notes.txt", 90 * day],
  ] as const) {
    await writeFile(join(journals, name), "{}\n");
    await utimes(join(journals, name), now - age, now - age);
  }
  const source = tempDir("journal-source");
  await writeFile(join(source, "a.txt"), "a");
  const report = await copy(source, tempDir("journal-destination"));
  expect(report.copied.length).toBe(1);
  expect((await readdir(journals)).sort()).toEqual(["notes.txt", "recent.jsonl"]);
});
