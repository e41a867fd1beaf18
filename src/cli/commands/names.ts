/** `stowage name …` and `stowage cluster …`: save, find and remove named resources from a shell. */
import { parseArgs } from "node:util";
import { Cluster, StowageError, blob, cluster, folder, list, load, remove, table, type NamedResource } from "../../index.js";
import { printJson } from "../output.js";
import { usageError } from "./cp.js";
import { placeArg, urlOf } from "./places.js";

import { NAMES_USAGE as usage } from "../usage.js";

export { usage };

const TYPES = ["table", "blob", "folder"] as const;
type SavableType = (typeof TYPES)[number];

/** What a place holds: a Stowage table, one file, or a folder. */
async function detectType(url: string): Promise<SavableType> {
  if (await table({ path: url }).exists()) return "table";
  if (await blob(url).exists()) return "blob";
  if (await folder(url).exists()) return "folder";
  throw new StowageError({ code: "NotFound", operation: "save", path: url, message: `nothing is stored at ${url}` });
}

async function describe(resource: NamedResource): Promise<{ name: string | undefined; type: string; version: number | undefined; url: string }> {
  return { name: resource.name, type: resource.resourceType, version: resource.version, url: await urlOf(resource) };
}

async function nameSave(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { type: { type: "string" }, note: { type: "string" }, json: { type: "boolean" } },
  });
  const [place, name] = positionals;
  if (!place || !name || positionals.length !== 2) throw usageError(usage);
  const type = values.type as SavableType | undefined;
  if (type !== undefined && !TYPES.includes(type)) throw usageError(`--type must be one of ${TYPES.join(", ")}`);
  const url = await placeArg(place);
  const kind = type ?? (await detectType(url));
  const resource = kind === "table" ? table({ path: url }) : kind === "blob" ? blob(url) : folder(url);
  await resource.save(name, values.note === undefined ? {} : { note: values.note });
  const saved = await describe(resource);
  if (values.json) return printJson(saved);
  process.stdout.write(`saved ${saved.type} ${saved.url} as ${saved.name} (version ${saved.version})\n`);
}

async function nameLoad(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: "boolean" } } });
  if (positionals.length !== 1) throw usageError(usage);
  const found = await describe(await load(positionals[0]!));
  if (values.json) return printJson(found);
  process.stdout.write(`${found.name}@${found.version}  ${found.type}  ${found.url}\n`);
}

async function nameLs(argv: string[], only?: "cluster"): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: "boolean" } } });
  if (positionals.length > 1) throw usageError(usage);
  const entries = (await list(positionals[0] ?? "~/")).filter((entry) => only === undefined || entry.type === only);
  if (values.json) return printJson(entries);
  const width = Math.max(4, ...entries.map((entry) => entry.name.length));
  for (const entry of entries) {
    process.stdout.write(`${entry.name.padEnd(width)}  ${entry.type.padEnd(7)}  v${String(entry.version).padEnd(4)}  ${entry.url}\n`);
  }
}

async function nameHistory(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: "boolean" } } });
  if (positionals.length !== 1) throw usageError(usage);
  const resource = await load(positionals[0]!);
  const history = await resource.history();
  if (values.json) return printJson(history);
  for (const entry of history) {
    const note = entry.note === undefined ? "" : `  ${entry.note}`;
    process.stdout.write(`v${String(entry.version).padEnd(4)}  ${entry.savedAt.toISOString()}  ${entry.savedBy}  ${entry.type}  ${entry.address}${note}\n`);
  }
}

async function nameRm(argv: string[], only?: "cluster"): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { data: { type: "boolean" }, json: { type: "boolean" } } });
  if (positionals.length !== 1) throw usageError(usage);
  const name = positionals[0]!;
  if (only === "cluster" && !((await load(name)) instanceof Cluster)) {
    throw new StowageError({ code: "InvalidInput", operation: "remove", path: name, message: `${name} is not a cluster` });
  }
  await remove(name, values.data ? { data: true } : {});
  if (values.json) return printJson({ removed: name, data: values.data ?? false });
  process.stdout.write(`removed ${name}${values.data ? " and its data" : ""}\n`);
}

export async function name(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case "save":
      return nameSave(rest);
    case "load":
      return nameLoad(rest);
    case "ls":
    case "list":
      return nameLs(rest);
    case "history":
      return nameHistory(rest);
    case "rm":
    case "remove":
      return nameRm(rest);
    default:
      throw usageError(usage);
  }
}

/** `[user@]host[:port]` */
function parseHost(text: string): { host: string; user?: string; port?: number } {
  const match = /^(?:([^@]+)@)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(text);
  if (!match) throw usageError(`"${text}" is not [user@]host[:port]`);
  return { host: match[2]!.replace(/^\[(.*)\]$/, "$1"), ...(match[1] ? { user: match[1] } : {}), ...(match[3] ? { port: Number(match[3]) } : {}) };
}

export async function clusterCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case "save": {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { json: { type: "boolean" } } });
      const [clusterName, host] = positionals;
      if (!clusterName || !host || positionals.length !== 2) throw usageError(usage);
      const saved = await cluster(parseHost(host)).save(clusterName);
      if (values.json) return printJson({ name: saved.name, version: saved.version, ...saved.toJSON() });
      process.stdout.write(
        `saved cluster ${saved.name} (${await urlOf(saved)}); use it as ${clusterName.replace(/^~\//, "")}:/path or ssh://${clusterName.replace(/^~\//, "")}/path\n`,
      );
      return;
    }
    case "ls":
    case "list":
      return nameLs(rest, "cluster");
    case "rm":
    case "remove":
      return nameRm(rest, "cluster");
    default:
      throw usageError(usage);
  }
}
