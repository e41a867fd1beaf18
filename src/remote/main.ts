/** The runner's entry: `node stowage-runner.mjs` with a wire request on stdin (see runner.ts). */
import { text } from "node:stream/consumers";
import { VERSION } from "../index.js";
import { WIRE_PROTOCOL } from "../transfer/wire.js";
import { runRequest } from "./runner.js";

if (process.argv.includes("--version")) process.stdout.write(`stowage-runner ${VERSION} protocol ${WIRE_PROTOCOL}\n`);
else process.exitCode = await runRequest(await text(process.stdin), (line) => process.stdout.write(line));
