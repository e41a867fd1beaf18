/**
 * A separate program that uses Stowage and then simply stops: it never calls closeSystems(), so it
 * exits only if nothing Stowage keeps (a pooled connection, a timer, a proxy) holds the event loop.
 * `copy-list <local dir> <url>` copies the folder there and prints the listing; `read <url>` reads
 * the file as a stream to its end and prints its length. The last line carries the time it was
 * printed, for the parent to measure how long the process lived on after it.
 */
import { blob, folder } from "../../src/index.js";

const [mode, first, second] = process.argv.slice(2) as [string, string, string | undefined];

let result: unknown;
if (mode === "copy-list") {
  const copied = await folder(first).to(second!);
  result = (await copied.ls({ recursive: true })).sort();
} else if (mode === "read") {
  let bytes = 0;
  for await (const chunk of await blob(first).open()) bytes += (chunk as Buffer).length;
  result = bytes;
} else {
  throw new Error(`unknown mode ${mode}`);
}
process.stdout.write(`${JSON.stringify({ result, at: Date.now() })}\n`);
