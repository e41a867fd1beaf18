/**
 * `stowage quickstart`: what Stowage is for, in a few seconds, on this machine with nothing
 * configured. It makes a sample folder, blob and table in Stowage's cache, copies the folder,
 * saves all three under names in the local registry, loads the table back by name, streams it, and
 * says where everything is and what to try next. `--clean` removes what it made.
 */
import { parseArgs } from "node:util";
import { Table, blob, folder, isStowageError, list, load, registries, remove, table } from "../../index.js";
import { formatBytes, printJson } from "../output.js";
import { usageError } from "./cp.js";

import { QUICKSTART_USAGE as usage } from "../usage.js";

export { usage };

const NAMES = ["~/quickstart/sample", "~/quickstart/sample-copy", "~/quickstart/greeting", "~/quickstart/measurements"] as const;

async function clean(json: boolean | undefined): Promise<void> {
  const removed: string[] = [];
  for (const name of NAMES) {
    try {
      await remove(name, { data: true });
      removed.push(name);
    } catch (error) {
      if (!isStowageError(error, "NotFound")) throw error;
    }
  }
  if (json) return printJson({ removed });
  process.stdout.write(removed.length ? `removed ${removed.join(", ")} and their data\n` : "nothing to remove\n");
}

export async function quickstart(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: "boolean" }, clean: { type: "boolean" } } });
  if (positionals.length > 0) throw usageError(usage);
  if (values.clean) return clean(values.json);
  const started = Date.now();
  const steps: string[] = [];
  const say = (line: string) => {
    steps.push(line);
    if (!values.json) process.stdout.write(`  ✓ ${line}\n`);
  };
  if (!values.json) process.stdout.write("Stowage quickstart: everything below happens on this machine, in Stowage's own folders.\n\n");

  // 1. A folder, a blob and a table, at default places named after them.
  const sample = folder({ name: "~/quickstart/sample", mkdir: true });
  await sample.put({
    "README.txt": "A sample folder made by `stowage quickstart`.\n",
    "data/numbers.csv": "n,square\n1,1\n2,4\n3,9\n",
    "data/notes.md": "# notes\n",
  });
  say(`made a folder with 3 files at ${sample.url}`);
  const greeting = blob({ data: Buffer.from("hello from stowage\n"), name: "~/quickstart/greeting" });
  await greeting.write();
  say(`wrote a blob at ${greeting.url}`);
  const rows = Array.from({ length: 10_000 }, (_, i) => ({ id: i, split: i % 10 < 8 ? "train" : "test", x: Math.sin(i) }));
  const measurements = table({ data: rows, name: "~/quickstart/measurements", partitionCols: ["split"], metadata: { source: "stowage quickstart" } });
  await measurements.write();
  say(`wrote a table of ${rows.length.toLocaleString("en")} rows, Hive-partitioned by split, at ${await measurements.url()}`);

  // 2. A copy, through the same engine that copies between any two systems.
  const copied = await sample.to(folder({ name: "~/quickstart/sample-copy" }));
  say(`copied the folder: ${copied.report?.copied.length} files, ${formatBytes(copied.report?.bytes ?? 0)} to ${copied.url}`);

  // 3. Names: each resource is recorded in the local registry and can be loaded by name anywhere.
  await sample.save();
  await copied.save("~/quickstart/sample-copy");
  await greeting.save();
  await measurements.save(undefined, { note: "saved by stowage quickstart" });
  say(`saved them as ${NAMES.join(", ")}`);

  // 4. Load the table back by its name alone, as another program would, and read it.
  const loaded = (await load("~/quickstart/measurements")) as Table;
  const train = await loaded.count({ filter: [["split", "=", "train"]] });
  const hello = await (await load("~/quickstart/greeting")).history();
  say(
    `loaded ~/quickstart/measurements@${loaded.version} by name: ${train.toLocaleString("en")} train rows (read from the partition, not the whole table); the blob has ${hello.length} saved version(s)`,
  );

  // 5. Stream it in shuffled batches with bounded memory, as a training loop would.
  let batches = 0;
  let streamed = 0;
  for await (const batch of loaded.stream({ batchSize: 1024, shuffleSeed: 42 })) {
    batches++;
    streamed += batch.numRows;
  }
  say(`streamed ${streamed.toLocaleString("en")} rows in ${batches} shuffled batches of up to 1,024`);

  const names = (await list("~/", { prefix: "quickstart/" })).map((entry) => ({ name: entry.name, type: entry.type, version: entry.version, url: entry.url }));
  const where = registries();
  const next = [
    "stowage name ls ~/quickstart/",
    "stowage table head ~/quickstart/measurements",
    "stowage table count ~/quickstart/measurements --filter 'x>0.5'",
    "stowage cp ~/quickstart/sample s3://YOUR-BUCKET/sample     (or gs://…, az://…, ssh://host/path)",
    "stowage doctor",
    "stowage quickstart --clean",
  ];
  const seconds = (Date.now() - started) / 1000;
  if (values.json) return printJson({ steps, names, registry: where.local, seconds, next });
  process.stdout.write(`\nDone in ${seconds.toFixed(1)}s. Where things are now:\n`);
  for (const entry of names) process.stdout.write(`  ${entry.name.padEnd(28)} ${entry.type.padEnd(7)} v${entry.version}  ${entry.url}\n`);
  process.stdout.write(`  (the names themselves are in the local registry, ${where.local})\n\nTry next:\n`);
  for (const line of next) process.stdout.write(`  ${line}\n`);
}
