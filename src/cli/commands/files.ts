/** `stowage ls`, `stowage cat` and `stowage rm`: look at and remove what is stored anywhere. */
import { parseArgs } from "node:util";
import { blob, folder } from "../../index.js";
import { formatBytes, printJson } from "../output.js";
import { usageError } from "./cp.js";

export const usage = `stowage ls PLACE [-R] [-l] [--json]
stowage cat FILE
stowage rm PLACE...`;

export async function ls(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { recursive: { type: "boolean", short: "R" }, long: { type: "boolean", short: "l" }, json: { type: "boolean" } },
  });
  if (positionals.length !== 1) throw usageError(usage);
  const entries = await folder(positionals[0]).ls({ recursive: values.recursive ?? false, details: true });
  if (values.json) return printJson(entries);
  for (const entry of entries) {
    const name = entry.type === "directory" ? `${entry.path}/` : entry.path;
    if (!values.long) process.stdout.write(`${name}\n`);
    else process.stdout.write(`${formatBytes(entry.size).padStart(10)}  ${entry.mtime?.toISOString() ?? "-".padEnd(24)}  ${name}\n`);
  }
}

export async function cat(argv: string[]): Promise<void> {
  if (argv.length !== 1) throw usageError(usage);
  const stream = await blob(argv[0]!).open();
  for await (const chunk of stream) process.stdout.write(chunk as Buffer);
}

export async function rm(argv: string[]): Promise<void> {
  if (argv.length === 0) throw usageError(usage);
  for (const place of argv) await folder(place).rm();
}
