/**
 * `stowage cp SRC DEST` and `stowage sync SRC DEST`. With `--events`, every progress event and the
 * final report go to stdout as one JSON object per line, for programs that watch a copy.
 */
import { parseArgs } from "node:util";
import { copy, folder, sync, type ProgressEvent, type SkipMode, type TransferOptions } from "../../index.js";
import { formatBytes, printJson, progressBar } from "../output.js";
import { placeArg } from "./places.js";

import { COPY_USAGE as usage } from "../usage.js";

export { usage };

const SKIP_MODES: readonly SkipMode[] = ["never", "size", "size-mtime", "checksum"];

export async function run(argv: string[], mode: "cp" | "sync" | "mv"): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      "dry-run": { type: "boolean" },
      include: { type: "string", multiple: true },
      exclude: { type: "string", multiple: true },
      "ignore-file": { type: "string", multiple: true },
      "include-git": { type: "boolean" },
      skip: { type: "string" },
      "no-overwrite": { type: "boolean" },
      "delete-extras": { type: "boolean" },
      concurrency: { type: "string" },
      streams: { type: "string" },
      remote: { type: "string" },
      "remote-credentials": { type: "string" },
      json: { type: "boolean" },
      quiet: { type: "boolean", short: "q" },
      events: { type: "boolean" },
    },
  });
  if (!positionals[0] || !positionals[1] || positionals.length > 2) throw usageError(usage);
  const [source, destination] = await Promise.all([placeArg(positionals[0]), placeArg(positionals[1])]);
  const skip = values.skip as SkipMode | undefined;
  if (skip !== undefined && !SKIP_MODES.includes(skip)) throw usageError(`--skip must be one of ${SKIP_MODES.join(", ")}`);
  const remote = values.remote as TransferOptions["remote"];
  if (remote !== undefined && !["auto", "never", "require"].includes(remote)) throw usageError("--remote must be auto, never or require");
  const remoteCredentials = values["remote-credentials"] as TransferOptions["remoteCredentials"];
  if (remoteCredentials !== undefined && !["any", "scoped"].includes(remoteCredentials)) throw usageError("--remote-credentials must be any or scoped");

  // No listener when nothing is shown: a copy run on a host then sends no progress lines back.
  const onProgress: ((event: ProgressEvent) => void) | undefined = values.events
    ? (event) => printJson({ event: { ...event, ...(event.type === "file" && event.error ? { error: event.error.toJSON() } : {}) } })
    : values.json || values.quiet
      ? undefined
      : progressBar();
  const options: TransferOptions = {
    ...(onProgress ? { onProgress } : {}),
    ...(values["dry-run"] ? { dryRun: true } : {}),
    ...(values.include ? { include: values.include } : {}),
    ...(values.exclude ? { exclude: values.exclude } : {}),
    ...(values["ignore-file"] ? { ignoreFiles: values["ignore-file"] } : {}),
    ...(values["include-git"] ? { includeGit: true } : {}),
    ...(skip ? { skip } : {}),
    ...(values["no-overwrite"] ? { overwrite: false } : {}),
    ...(values["delete-extras"] ? { deleteExtras: true } : {}),
    ...(values.concurrency ? { concurrency: Number(values.concurrency) } : {}),
    ...(values.streams ? { streams: Number(values.streams) } : {}),
    ...(remote ? { remote } : {}),
    ...(remoteCredentials ? { remoteCredentials } : {}),
  };
  const report = await (mode === "sync" ? sync : copy)(source, destination, options);
  const moved = mode === "mv" && !report.dryRun && report.failed.length === 0;
  if (moved) await folder(source).rm();
  const serializable = { ...report, failed: report.failed.map((f) => ({ path: f.path, error: f.error.toJSON() })) };
  if (values.events) printJson({ report: serializable });
  else if (values.json) printJson(mode === "mv" ? { ...serializable, removedSource: moved } : serializable);
  else if (!values.quiet) {
    const skipped = report.skipped.length ? `, skipped ${report.skipped.length}` : "";
    const deleted = report.deleted.length ? `, deleted ${report.deleted.length}` : "";
    const verb = report.dryRun ? (mode === "mv" ? "would move" : "would copy") : moved ? "moved" : "copied";
    process.stdout.write(
      `${verb} ${report.copied.length} file${report.copied.length === 1 ? "" : "s"} (${formatBytes(report.bytes)})${skipped}${deleted} in ${(report.durationMs / 1000).toFixed(1)}s [${report.ranOn.join(", ") || "nothing to do"}]\n`,
    );
  }
}

export function usageError(message: string): Error {
  return Object.assign(new Error(message), { usage: true });
}
