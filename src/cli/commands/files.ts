/** `stowage ls`, `stowage cat` and `stowage rm`: look at and remove what is stored anywhere. */
import { parseArgs } from "node:util";
import { blob, folder } from "../../index.js";
import { formatBytes, printJson } from "../output.js";
import { usageError } from "./cp.js";
import { placeArg } from "./places.js";

import { FILES_USAGE as usage } from "../usage.js";

export { usage };

export async function ls(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { recursive: { type: "boolean", short: "R" }, long: { type: "boolean", short: "l" }, json: { type: "boolean" } },
  });
  if (positionals.length !== 1) throw usageError(usage);
  const entries = await folder(await placeArg(positionals[0]!)).ls({ recursive: values.recursive ?? false, details: true });
  if (values.json) return printJson(entries);
  for (const entry of entries) {
    const name = entry.type === "directory" ? `${entry.path}/` : entry.path;
    if (!values.long) process.stdout.write(`${name}\n`);
    else process.stdout.write(`${formatBytes(entry.size).padStart(10)}  ${entry.mtime?.toISOString() ?? "-".padEnd(24)}  ${name}\n`);
  }
}

export async function cat(argv: string[]): Promise<void> {
  if (argv.length !== 1) throw usageError(usage);
  const stream = await blob(await placeArg(argv[0]!)).open();
  // A reader that goes away (`| head -c 10`) ends the copy quietly instead of failing on EPIPE.
  let closed = false;
  process.stdout.once("error", () => {
    closed = true;
    stream.destroy();
  });
  try {
    for await (const chunk of stream) {
      if (closed) break;
      if (!process.stdout.write(chunk as Buffer)) await new Promise((resolve) => process.stdout.once("drain", resolve).once("close", resolve));
    }
  } catch (error) {
    if (!closed) throw error; // the stream was destroyed because the reader left: that is the end
  }
}

export async function stat(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: "boolean" } } });
  if (positionals.length !== 1) throw usageError(usage);
  const place = blob(await placeArg(positionals[0]!));
  const info = await place.stat();
  const shown = { url: place.url, ...info, ...(info.mtime ? { mtime: info.mtime.toISOString() } : {}) };
  if (values.json) return printJson(shown);
  process.stdout.write(`${shown.url}\n  type   ${info.type}\n  size   ${formatBytes(info.size)} (${info.size} bytes)\n`);
  if (info.mtime) process.stdout.write(`  mtime  ${info.mtime.toISOString()}\n`);
  if (info.etag) process.stdout.write(`  etag   ${info.etag}\n`);
  if (info.md5) process.stdout.write(`  md5    ${info.md5}\n`);
}

export async function du(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: "boolean" } } });
  if (positionals.length !== 1) throw usageError(usage);
  const place = folder(await placeArg(positionals[0]!));
  const entries = await place.ls({ recursive: true, details: true });
  const files = entries.filter((entry) => entry.type === "file");
  const bytes = files.reduce((sum, entry) => sum + entry.size, 0);
  if (values.json) return printJson({ url: place.url, files: files.length, bytes });
  process.stdout.write(`${formatBytes(bytes)}  ${files.length} file${files.length === 1 ? "" : "s"}  ${place.url}\n`);
}

export async function rm(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { "dry-run": { type: "boolean" }, json: { type: "boolean" } } });
  if (positionals.length === 0) throw usageError(usage);
  const places = await Promise.all(positionals.map(async (place) => folder(await placeArg(place))));
  if (!values["dry-run"]) for (const place of places) await place.rm();
  if (values.json) printJson({ removed: values["dry-run"] ? [] : places.map((p) => p.url), dryRun: values["dry-run"] ?? false });
  else if (values["dry-run"]) for (const place of places) process.stdout.write(`would remove ${place.url}\n`);
}
