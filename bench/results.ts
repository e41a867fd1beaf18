/** Each benchmark rewrites only its own section of bench/RESULTS.md, keeping the others. */
import { readFile, writeFile } from "node:fs/promises";

export async function writeResultsSection(heading: string, section: string): Promise<void> {
  const path = new URL("./RESULTS.md", import.meta.url).pathname;
  const existing = await readFile(path, "utf8").catch(() => "# Benchmark results\n");
  const start = existing.indexOf(heading);
  const next = start < 0 ? -1 : existing.indexOf("\n## ", start + 1);
  const updated = start < 0 ? `${existing.trimEnd()}\n\n${section}` : `${existing.slice(0, start)}${section}${next < 0 ? "" : existing.slice(next + 1)}`;
  await writeFile(path, updated);
}
