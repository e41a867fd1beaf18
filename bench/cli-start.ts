/**
 * How fast `stowage` starts, against `node -e 0` (the floor) in one interleaved run: `--help`, and
 * `ls` of a local folder, which must load no cloud SDK. Stowage runs as shipped (dist/, built
 * first). Writes the "CLI start" section of bench/RESULTS.md.
 *
 *   npx tsx bench/cli-start.ts [--rounds N]
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeResultsSection } from "./results.js";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const rounds = Number(process.argv[process.argv.indexOf("--rounds") + 1]) || 20;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const build = spawnSync(process.execPath, [join(REPO, "node_modules/typescript/bin/tsc"), "-p", join(REPO, "tsconfig.build.json")], { stdio: "inherit" });
if (build.status !== 0) throw new Error("the build failed");

const dir = mkdtempSync(join(tmpdir(), "stowage-cli-start-"));
writeFileSync(join(dir, "a.txt"), "a");
const cli = join(REPO, "dist/cli/main.js");
const cases: Record<string, string[]> = {
  "node -e 0": ["-e", "0"],
  "stowage --help": [cli, "--help"],
  "stowage ls <local dir>": [cli, "ls", dir],
};
const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
try {
  for (let round = 0; round < rounds; round++) {
    const order = Object.keys(cases);
    if (round % 2 === 1) order.reverse();
    for (const name of order) {
      const started = performance.now();
      const run = spawnSync(process.execPath, cases[name]!, { stdio: ["ignore", "ignore", "pipe"] });
      if (run.status !== 0) throw new Error(`${name} failed: ${run.stderr}`);
      times[name]!.push(performance.now() - started);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const floor = median(times["node -e 0"]!);
const rows = Object.keys(cases).map((name) => `| \`${name}\` | ${median(times[name]!).toFixed(1)} | ${(median(times[name]!) / floor).toFixed(2)}× |`);
const help = median(times["stowage --help"]!) / floor;
const section = `## CLI start (bench/cli-start.ts)

${rounds} interleaved rounds on Node ${process.version}, medians of wall time per process, Stowage built to dist/.

| command | median ms | vs \`node -e 0\` |
|---|---|---|
${rows.join("\n")}

Goal (issue 16): \`--help\` within 1.5× of \`node -e 0\`: **${help.toFixed(2)}×** (${help <= 1.5 ? "met" : "missed"}).
`;
console.log(section);
await writeResultsSection("## CLI start (bench/cli-start.ts)", section);
