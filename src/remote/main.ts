/** The runner's entry: `node stowage-runner.mjs` with a wire request on stdin (see runner.ts). */
import { text } from "node:stream/consumers";
import { VERSION } from "../version.js";
import { WIRE_PROTOCOL } from "../transfer/wire.js";
import { runRequest } from "./runner.js";

/**
 * Lines written in one tick leave as one write: stdout to sshd is a pipe, written synchronously, and
 * a write per progress line woke sshd for each of a thousand small files.
 */
function coalescedStdout(): (line: string) => void {
  let pending: string[] = [];
  const flush = () => {
    const lines = pending;
    pending = [];
    process.stdout.write(lines.join(""));
  };
  return (line) => {
    if (pending.push(line) === 1) setImmediate(flush);
  };
}

if (process.argv.includes("--version")) process.stdout.write(`stowage-runner ${VERSION} protocol ${WIRE_PROTOCOL}\n`);
else process.exitCode = await runRequest(await text(process.stdin), coalescedStdout());
