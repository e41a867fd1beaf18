/**
 * A separate program that copies with Stowage's `copy`, for the kill-and-resume tests of
 * multi-stream copies: `<from> <to> <options JSON> [killAt]`. With `killAt` it kills itself with
 * SIGKILL (no cleanup, no journal flush) once that many bytes have been read; else it prints the
 * report's `copied` as one JSON line.
 */
import { closeSystems, copy } from "../../src/index.js";

const [from, to, optionsJson, killAt] = process.argv.slice(2) as [string, string, string, string | undefined];
const report = await copy(from, to, {
  ...(JSON.parse(optionsJson) as object),
  progressInterval: 0,
  onProgress: (event) => {
    if (killAt !== undefined && event.type === "rate" && event.bytesDone >= Number(killAt)) process.kill(process.pid, "SIGKILL");
  },
});
process.stdout.write(`${JSON.stringify(report.copied)}\n`);
await closeSystems();
