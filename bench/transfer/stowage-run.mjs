// @ts-check
/**
 * One Stowage copy in a fresh process, so every run opens its connections from scratch and its CPU
 * is its own. It runs the built package (dist/, what `npm install stowage` gives users) under plain
 * Node: under tsx's loader the same 1 GiB SSH upload took about 1 CPU-second more (its hooks thread,
 * source maps and five times the garbage collection), which is tsx's cost, not Stowage's.
 *
 * Timed like the research's Node cases (clients-and-perf.md B.2): from before any system is opened
 * (client construction, SSH handshake) to the end of the copy. Node startup and module import are
 * excluded: the provider modules are imported first and that time is reported separately as
 * `importSeconds`. Prints one JSON line.
 *
 * Usage: node stowage-run.mjs <source URL> <destination URL>
 */
import { closeSystems, copy, parseAddress } from "../../dist/index.js";

const [source, destination] = process.argv.slice(2);
if (!source || !destination) {
  process.stderr.write("usage: stowage-run.mjs <source> <destination>\n");
  process.exit(2);
}

const importStarted = process.hrtime.bigint();
for (const system of new Set([parseAddress(source).system, parseAddress(destination).system])) {
  // The same modules the registry loads lazily on first open (file is built in).
  if (system !== "file") await import(`../../dist/systems/${system}/index.js`);
}
const importSeconds = Number(process.hrtime.bigint() - importStarted) / 1e9;

const cpuBefore = process.cpuUsage();
const started = process.hrtime.bigint();
const report = await copy(source, destination);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const cpu = process.cpuUsage(cpuBefore);
await closeSystems();
process.stdout.write(
  `${JSON.stringify({
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    importSeconds,
    files: report.copied.length,
    bytes: report.bytes,
    failed: report.failed.length,
    ranOn: report.ranOn,
    ...(report.fallback ? { fallback: report.fallback } : {}),
  })}\n`,
);
