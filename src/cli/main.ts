#!/usr/bin/env node
/** The `stowage` command: the library's main jobs from a shell. */
import { text } from "node:stream/consumers";
import { VERSION, closeSystems } from "../index.js";
import * as cp from "./commands/cp.js";
import * as files from "./commands/files.js";
import { exitCodeOf, printError } from "./output.js";

const HELP = `stowage ${VERSION}: store, read and move data between local disk, SSH hosts, S3, GCS, Azure and GitHub

Places are URLs (s3://bucket/key, gs://…, az://container/…, ssh://user@host/path,
github://owner/repo@ref/path) or local paths.

${cp.usage}

${files.usage}

Global options:
  --credentials-stdin    read {"env": {…}, "files": […]} from stdin: credentials for this run
                         only, and for cp/sync the files to copy (how a copy running on an SSH
                         host receives them)
  --version, --help`;

/** Credentials sent on stdin live only in this process's memory, never on the host's disk. */
async function readStdinOptions(): Promise<{ files?: string[] }> {
  const input = JSON.parse(await text(process.stdin)) as { env?: Record<string, string>; files?: string[] };
  Object.assign(process.env, input.env ?? {});
  return input.files ? { files: input.files } : {};
}

async function main(argv: string[]): Promise<number> {
  const json = argv.includes("--json") || argv.includes("--events");
  let args = argv;
  let fromStdin: { files?: string[] } = {};
  if (args.includes("--credentials-stdin")) {
    args = args.filter((a) => a !== "--credentials-stdin");
    fromStdin = await readStdinOptions();
  }
  const [command, ...rest] = args;
  try {
    switch (command) {
      case "cp":
      case "copy":
        await cp.run(rest, "cp", fromStdin);
        break;
      case "sync":
        await cp.run(rest, "sync", fromStdin);
        break;
      case "ls":
        await files.ls(rest);
        break;
      case "cat":
        await files.cat(rest);
        break;
      case "rm":
        await files.rm(rest);
        break;
      case "--version":
      case "version":
        process.stdout.write(`${VERSION}\n`);
        break;
      case undefined:
      case "--help":
      case "help":
        process.stdout.write(`${HELP}\n`);
        break;
      default:
        process.stderr.write(`stowage: unknown command "${command}"\n\n${HELP}\n`);
        return 2;
    }
    return 0;
  } catch (error) {
    if ((error as { usage?: boolean }).usage) {
      process.stderr.write(`stowage: ${(error as Error).message}\n`);
      return 2;
    }
    printError(error, json);
    return exitCodeOf(error);
  } finally {
    await closeSystems();
  }
}

process.exitCode = await main(process.argv.slice(2));
