// Child program for the lazy-loading test: imports the public API and uses one system.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeSystems, openSystem, writable } from "../../../src/index.js";

const address = process.argv[2] ?? "file";
if (address === "file") {
  const dir = mkdtempSync(join(tmpdir(), "stowage-lazy-"));
  const system = writable(await openSystem(dir), "write");
  await system.write(`${dir}/a.txt`, "hello");
  for await (const entry of system.list(dir)) process.stdout.write(`${entry.path}\n`);
  await system.delete([dir], { recursive: true });
} else {
  // Opening a system builds its client without contacting anything.
  await openSystem(address);
}
await closeSystems();
