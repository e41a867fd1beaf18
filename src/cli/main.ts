#!/usr/bin/env node
/** The `stowage` command: the library's jobs from a shell. */
import { readFileSync } from "node:fs";
import { COPY_USAGE, DOCTOR_USAGE, EXIT_CODE_HELP, FILES_USAGE, NAMES_USAGE, QUICKSTART_USAGE, TABLE_USAGE } from "./usage.js";

// Help and the version load nothing but this file and the usage text; commands load on use.
const VERSION = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

const HELP = `stowage ${VERSION}: store, read and move data between local disk, SSH hosts, S3, GCS, Azure and GitHub

Places are URLs (s3://bucket/key, gs://…, az://container/…, ssh://user@host/path,
github://owner/repo@ref/path), local paths, saved names (@/team/name, ~/my/name), or a saved
cluster's path (gpu-box:/data).

${QUICKSTART_USAGE}

${COPY_USAGE}

${FILES_USAGE}

${TABLE_USAGE}

${NAMES_USAGE}

${DOCTOR_USAGE}

Global options:
  --json                 machine-readable output (errors too)
  --debug                on failure, print the whole cause chain
  --version, --help      stowage help exit-codes lists the exit codes`;

async function dispatch(command: string | undefined, rest: string[]): Promise<number> {
  switch (command) {
    case "cp":
    case "copy":
      await (await import("./commands/cp.js")).run(rest, "cp");
      return 0;
    case "sync":
      await (await import("./commands/cp.js")).run(rest, "sync");
      return 0;
    case "mv":
    case "move":
      await (await import("./commands/cp.js")).run(rest, "mv");
      return 0;
    case "ls":
      await (await import("./commands/files.js")).ls(rest);
      return 0;
    case "cat":
      await (await import("./commands/files.js")).cat(rest);
      return 0;
    case "stat":
      await (await import("./commands/files.js")).stat(rest);
      return 0;
    case "du":
      await (await import("./commands/files.js")).du(rest);
      return 0;
    case "rm":
      await (await import("./commands/files.js")).rm(rest);
      return 0;
    case "table":
      await (await import("./commands/table.js")).tableCommand(rest);
      return 0;
    case "name":
      await (await import("./commands/names.js")).name(rest);
      return 0;
    case "cluster":
      await (await import("./commands/names.js")).clusterCommand(rest);
      return 0;
    case "doctor":
      await (await import("./commands/doctor.js")).doctor(rest);
      return 0;
    case "quickstart":
      await (await import("./commands/quickstart.js")).quickstart(rest);
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

/** Set once a command (and with it the library) runs; help and version end without loading it. */
let commandStarted = false;

async function main(argv: string[]): Promise<number> {
  const json = argv.includes("--json") || argv.includes("--events");
  const debug = argv.includes("--debug");
  let args = argv.filter((a) => a !== "--debug");
  if (args.includes("--help") && args.length > 1) args = ["--help"];
  const [command, ...rest] = args;
  try {
    commandStarted = !["--version", "version", "help", "--help", "-h", undefined].includes(command);
    return await dispatch(command, rest);
  } catch (error) {
    if ((error as { usage?: boolean }).usage || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`stowage: ${(error as Error).message}\n`);
      return 2;
    }
    const { exitCodeOf, printError } = await import("./output.js");
    printError(error, { json, debug });
    return exitCodeOf(error);
  } finally {
    if (commandStarted) await (await import("../index.js")).closeSystems();
  }
}

process.exitCode = await main(process.argv.slice(2));
