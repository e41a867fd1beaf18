#!/usr/bin/env node
/** The `stowage` command: the library's jobs from a shell. */
import { text } from "node:stream/consumers";
import { VERSION, closeSystems } from "../index.js";
import * as cp from "./commands/cp.js";
import * as doctor from "./commands/doctor.js";
import * as files from "./commands/files.js";
import * as names from "./commands/names.js";
import * as quickstart from "./commands/quickstart.js";
import * as tables from "./commands/table.js";
import { EXIT_CODE_HELP, exitCodeOf, printError } from "./output.js";

const HELP = `stowage ${VERSION}: store, read and move data between local disk, SSH hosts, S3, GCS, Azure and GitHub

Places are URLs (s3://bucket/key, gs://…, az://container/…, ssh://user@host/path,
github://owner/repo@ref/path), local paths, saved names (@/team/name, ~/my/name), or a saved
cluster's path (gpu-box:/data).

${quickstart.usage}

${cp.usage}

${files.usage}

${tables.usage}

${names.usage}

${doctor.usage}

Global options:
  --json                 machine-readable output (errors too)
  --debug                on failure, print the whole cause chain
  --credentials-stdin    read {"env": {…}, "files": […]} from stdin: credentials for this run
                         only, and for cp/sync the files to copy (how a copy running on an SSH
                         host receives them)
  --version, --help      stowage help exit-codes lists the exit codes`;

/** Credentials sent on stdin live only in this process's memory, never on the host's disk. */
async function readStdinOptions(): Promise<{ files?: string[] }> {
  const input = JSON.parse(await text(process.stdin)) as { env?: Record<string, string>; files?: string[] };
  Object.assign(process.env, input.env ?? {});
  return input.files ? { files: input.files } : {};
}

async function dispatch(command: string | undefined, rest: string[], fromStdin: { files?: string[] }): Promise<number> {
  switch (command) {
    case "cp":
    case "copy":
      await cp.run(rest, "cp", fromStdin);
      return 0;
    case "sync":
      await cp.run(rest, "sync", fromStdin);
      return 0;
    case "mv":
    case "move":
      await cp.run(rest, "mv");
      return 0;
    case "ls":
      await files.ls(rest);
      return 0;
    case "cat":
      await files.cat(rest);
      return 0;
    case "stat":
      await files.stat(rest);
      return 0;
    case "du":
      await files.du(rest);
      return 0;
    case "rm":
      await files.rm(rest);
      return 0;
    case "table":
      await tables.tableCommand(rest);
      return 0;
    case "name":
      await names.name(rest);
      return 0;
    case "cluster":
      await names.clusterCommand(rest);
      return 0;
    case "doctor":
      await doctor.doctor(rest);
      return 0;
    case "quickstart":
      await quickstart.quickstart(rest);
      return 0;
    case "--version":
    case "version":
      process.stdout.write(`${VERSION}\n`);
      return 0;
    case "help":
      process.stdout.write(`${rest[0] === "exit-codes" ? EXIT_CODE_HELP : HELP}\n`);
      return 0;
    case undefined:
    case "--help":
    case "-h":
      process.stdout.write(`${HELP}\n`);
      return 0;
    default:
      process.stderr.write(`stowage: unknown command "${command}" (stowage --help lists them)\n`);
      return 2;
  }
}

async function main(argv: string[]): Promise<number> {
  const json = argv.includes("--json") || argv.includes("--events");
  const debug = argv.includes("--debug");
  let args = argv.filter((a) => a !== "--debug");
  let fromStdin: { files?: string[] } = {};
  if (args.includes("--credentials-stdin")) {
    args = args.filter((a) => a !== "--credentials-stdin");
    fromStdin = await readStdinOptions();
  }
  if (args.includes("--help") && args.length > 1) args = ["--help"];
  const [command, ...rest] = args;
  try {
    return await dispatch(command, rest, fromStdin);
  } catch (error) {
    if ((error as { usage?: boolean }).usage || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`stowage: ${(error as Error).message}\n`);
      return 2;
    }
    printError(error, { json, debug });
    return exitCodeOf(error);
  } finally {
    await closeSystems();
  }
}

process.exitCode = await main(process.argv.slice(2));
