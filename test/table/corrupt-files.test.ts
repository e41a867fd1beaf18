/**
 * A Parquet file Stowage cannot decode is the file's problem, said as a StowageError naming it: a
 * page parquet-wasm fails on (here a snappy page whose bytes were damaged) is InvalidInput with the
 * file's path, never an untyped error or silently fewer rows, and the pool goes on serving reads.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isStowageError, table } from "../../src/index.js";
import { tempDir } from "../support/process.js";

const rows = Array.from({ length: 20_000 }, (_, i) => ({ id: i, text: `row ${i} ${"x".repeat(i % 50)}`, score: i / 7 }));

function parquetFileIn(dir: string): string {
  const name = readdirSync(dir).find((entry) => entry.endsWith(".parquet"));
  if (!name) throw new Error(`no Parquet file in ${dir}`);
  return join(dir, name);
}

describe("a Parquet file that cannot be decoded", () => {
  it("is InvalidInput naming the file, and the next read of a sound table still works", async () => {
    const dir = tempDir("corrupt-parquet");
    const damaged = table({ data: rows, path: join(dir, "damaged") });
    await damaged.write({ compression: "snappy" });
    const file = parquetFileIn(join(dir, "damaged"));
    const bytes = readFileSync(file);
    // Damage the page data (past the 4-byte magic, well before the footer), not the footer itself.
    for (let i = 1_000; i < bytes.length / 2; i += 97) bytes[i] = bytes[i]! ^ 0x5a;
    writeFileSync(file, bytes);

    const failure = await damaged.fetch().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isStowageError(failure, "InvalidInput")).toBe(true);
    expect((failure as { path?: string }).path).toBe(file);

    const sound = table({ data: rows, path: join(dir, "sound") });
    await sound.write({ compression: "snappy" });
    expect((await sound.fetch()).numRows).toBe(rows.length);
  });
});
