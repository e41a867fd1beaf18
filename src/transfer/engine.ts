/**
 * The transfer engine behind `Folder.to`, `copy` and `sync`: plans, then copies every file by the
 * cheapest route (on the SSH host at either end where it can run the copy, inside the provider
 * when both ends are the same system, otherwise streamed through this process), with retries,
 * verification, a resume journal and progress events.
 */
import { StowageError, isStowageError, toStowageError } from "../errors.js";
import type { Stat, UploadState, WriteResult } from "../systems/contract.js";
import { has, need, writable } from "../systems/extensions.js";
import { baseName, relativePath } from "../systems/paths.js";
import { batchLimits, readBatch, splitForBatches, writeEach } from "./batch-copy.js";
import { Journal } from "./journal.js";
import { DEFAULT_STREAMS, MULTI_STREAM_MIN } from "./multi-stream.js";
import { planTransfer, type Endpoint, type PlannedCopy } from "./plan.js";
import { runPool } from "./pool.js";
import { ProgressMeter } from "./progress.js";
import { hostRoute, runOnHost } from "./remote.js";
import { withRetry } from "./retry.js";
import { streamCopy, type StreamCopyOptions } from "./stream-copy.js";
import type { TransferOptions, TransferReport, WhereRan } from "./types.js";

export interface TransferEndpoint extends Endpoint {
  /** The address as a URL, for reports and the journal key. */
  url: string;
}

/** A transfer that finished with failed files. The report says which and why. */
export class TransferError extends StowageError {
  readonly report: TransferReport;

  constructor(report: TransferReport) {
    const first = report.failed[0]!.error;
    super({
      code: first.code,
      retryable: first.retryable,
      system: first.system,
      operation: "transfer",
      path: report.source,
      message: `${report.failed.length} of ${report.failed.length + report.copied.length} files failed; first: ${report.failed[0]!.path}: ${first.message}`,
      cause: first,
    });
    this.report = report;
  }
}

/**
 * Batches gathered or written at once: one is read while another unpacks on the destination. Each
 * holds up to the destination's `maxBytes` in memory.
 */
const BATCHES_IN_FLIGHT = 4;
/** Files of a batch retried one at a time, in flight at once. */
const SINGLES_PER_BATCH = 4;

const positive = (name: string, value: number | undefined, fallback: number): number => {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) throw new StowageError({ code: "InvalidInput", message: `${name} must be a non-negative integer, got ${value}` });
  return value;
};

async function checkDestination(source: TransferEndpoint, sourceStat: Stat, destination: TransferEndpoint): Promise<void> {
  if (source.system.id === destination.system.id && relativePath(source.path, destination.path) !== undefined && sourceStat.type === "directory") {
    throw new StowageError({
      code: "InvalidInput",
      operation: "transfer",
      path: destination.url,
      message: `the destination ${destination.url} is inside the source ${source.url}`,
    });
  }
  if (sourceStat.type !== "directory") return;
  const existing = await destination.system.stat(destination.path).catch((error: unknown) => {
    // A credential that may write there but not read (one scoped for a copy on a host, checked
    // by its caller already) cannot tell: the writes will.
    if (isStowageError(error, "NotFound") || isStowageError(error, "PermissionDenied")) return undefined;
    throw error;
  });
  if (existing?.type === "file") {
    throw new StowageError({
      code: "NotADirectory",
      system: destination.system.name,
      operation: "transfer",
      path: destination.url,
      message: `cannot copy the folder ${source.url} onto the file ${destination.url}`,
    });
  }
}

/** A single file copied onto an existing directory lands inside it, as with `cp`. */
async function intoDirectory(sourceStat: Stat, destination: TransferEndpoint): Promise<TransferEndpoint> {
  if (sourceStat.type !== "file") return destination;
  const existing = await destination.system.stat(destination.path).catch(() => undefined);
  if (existing?.type !== "directory") return destination;
  const name = baseName(sourceStat.path);
  return { ...destination, path: `${destination.path === "/" ? "" : destination.path}/${name}`, url: `${destination.url.replace(/\/+$/, "")}/${name}` };
}

export async function transfer(source: TransferEndpoint, destination: TransferEndpoint, options: TransferOptions = {}): Promise<TransferReport> {
  const started = Date.now();
  const concurrency = Math.max(1, positive("concurrency", options.concurrency, 16));
  const retries = positive("retries", options.retries, 3);
  // Checked before any byte moves; the values go to each file's copy as given.
  positive("streams", options.streams, DEFAULT_STREAMS);
  positive("multiStreamCutoff", options.multiStreamCutoff, MULTI_STREAM_MIN);
  const signal = options.signal;
  const sourceStat = await source.system.stat(source.path);
  await checkDestination(source, sourceStat, destination);
  destination = await intoDirectory(sourceStat, destination);

  let fallback: string | undefined;
  // A host at either end that runs commands runs the copy itself, so the bytes never pass through this machine.
  const route = options.remote === "never" ? undefined : hostRoute(source, destination, sourceStat);
  if (route) {
    const outcome = await runOnHost(route, options);
    if (outcome.ran) {
      if (outcome.report.failed.length > 0) throw new TransferError(outcome.report);
      return outcome.report;
    }
    if (options.remote === "require") {
      const host = route[route.on];
      throw new StowageError({
        code: "Unsupported",
        system: host.system.name,
        operation: "transfer",
        path: host.url,
        message: `cannot run the copy on the host: ${outcome.reason}`,
      });
    }
    fallback = outcome.reason;
  }

  const dryRun = options.dryRun ?? false;
  const journal = (options.resume ?? true) && !dryRun ? await Journal.open(source.url, destination.url) : undefined;
  try {
    return await copyAll(source, destination, options, { dryRun, journal, fallback, signal, sourceStat, started, concurrency, retries });
  } finally {
    await journal?.close();
  }
}

interface Run {
  dryRun: boolean;
  journal: Journal | undefined;
  fallback: string | undefined;
  signal: AbortSignal | undefined;
  sourceStat: Stat;
  started: number;
  concurrency: number;
  retries: number;
}

/** Plans and copies file by file (then deletes extras for sync), recording progress in the journal. */
async function copyAll(source: TransferEndpoint, destination: TransferEndpoint, options: TransferOptions, run: Run): Promise<TransferReport> {
  const { dryRun, journal, fallback, signal, sourceStat, started, concurrency, retries } = run;
  const plan = await planTransfer(source, sourceStat, destination, options, journal);

  const report: TransferReport = {
    source: source.url,
    destination: destination.url,
    dryRun,
    copied: [],
    skipped: plan.skip,
    failed: [],
    deleted: [],
    bytes: 0,
    durationMs: 0,
    ranOn: [],
    ...(fallback ? { fallback } : {}),
  };
  const meter = new ProgressMeter(options.onProgress, options.progressInterval);
  meter.filesTotal = plan.copy.length;
  meter.bytesTotal = plan.copy.reduce((sum, file) => sum + file.source.size, 0);
  const ranOn = new Set<WhereRan>();
  const overwrite = options.overwrite ?? true;
  const verify = options.verify ?? true;
  const serverSide = source.system.id === destination.system.id && has(source.system, "copy");

  /**
   * Where a large upload's state lives between attempts: in memory for retries within this run, and
   * in the journal for a re-run. An unfinished upload of a since-changed source is discarded.
   */
  const uploadCheckpoint = (file: PlannedCopy): StreamCopyOptions["upload"] => {
    const uploads = destination.system.uploads;
    if (!uploads) return undefined;
    const source = { path: file.relative, size: file.source.size, ...(file.source.mtime ? { mtime: file.source.mtime.getTime() } : {}) };
    const earlier = journal?.unfinished(source.path);
    const current = earlier && earlier.size === source.size && earlier.mtime === source.mtime;
    if (earlier && !current) void uploads.discard(file.destinationPath, earlier.upload).catch(() => undefined);
    const checkpoint = {
      state: current ? earlier.upload : undefined,
      save(state: UploadState) {
        checkpoint.state = state;
        void journal?.record({ ...source, upload: state }).catch(() => undefined);
      },
    };
    return checkpoint;
  };

  /** Reports, journals and announces a file that arrived whole. */
  const finished = (file: PlannedCopy, where: WhereRan, resumedBytes = 0): void => {
    const path = file.relative || file.source.path;
    ranOn.add(where);
    report.copied.push({ path, bytes: file.source.size, ...(resumedBytes > 0 ? { resumedBytes } : {}) });
    report.bytes += file.source.size;
    // Not awaited: the journal only saves a re-run work, and close() writes what is pending.
    void journal
      ?.record({ path: file.relative, size: file.source.size, ...(file.source.mtime ? { mtime: file.source.mtime.getTime() } : {}) })
      .catch(() => undefined);
    meter.file({ type: "file", path, status: "copied", bytes: file.source.size });
  };

  const copyOne = async (file: PlannedCopy): Promise<void> => {
    const path = file.relative || file.source.path;
    if (dryRun) {
      report.copied.push({ path, bytes: file.source.size });
      return;
    }
    let counted = 0;
    let resumedBytes = 0;
    const upload = serverSide ? undefined : uploadCheckpoint(file);
    try {
      await withRetry(
        async () => {
          meter.bytes(-counted);
          counted = 0;
          if (serverSide) {
            await need(destination.system, "copy", "copy", file.source.path).copy(file.source.path, file.destinationPath, {
              overwrite,
              size: file.source.size,
              ...(signal ? { signal } : {}),
            });
            counted = file.source.size;
            meter.bytes(counted);
          } else {
            ({ resumedBytes } = await streamCopy(source.system, file.source, destination.system, file.destinationPath, {
              overwrite,
              verify,
              partSize: options.partSize,
              partConcurrency: options.partConcurrency,
              streams: options.streams,
              multiStreamCutoff: options.multiStreamCutoff,
              signal,
              upload,
              onBytes: (n) => {
                counted += n;
                meter.bytes(n);
              },
            }));
          }
        },
        { retries, signal },
      );
      finished(file, serverSide ? "server-side" : "caller", resumedBytes);
    } catch (error) {
      const wrapped = toStowageError(error, { system: destination.system.name, operation: "copy", path: file.destinationPath });
      report.failed.push({ path, error: wrapped });
      meter.file({ type: "file", path, status: "failed", bytes: 0, error: wrapped });
    }
  };

  // Either end may move small files in batches. An end that cannot at all (no tar on the host)
  // answers Unsupported once and is not asked again this run.
  let writes = serverSide || dryRun ? undefined : destination.system.batches;
  let reads = serverSide || dryRun ? undefined : source.system.batchReads;
  const limits = batchLimits(writes, reads);
  /** One batch of small files, in one call at either end or both; what it could not do goes through `copyOne`. */
  const copyBatch = async (files: PlannedCopy[]): Promise<void> => {
    const outcomes: Array<WriteResult | Error | undefined> = new Array(files.length).fill(undefined);
    if (writes || reads) {
      const bodies = await readBatch(source.system, reads, files, verify, signal).catch((error: unknown) => {
        if (isStowageError(error, "Unsupported")) reads = undefined;
        return [];
      });
      const ready = files.flatMap((file, index) => (bodies[index] ? [{ index, file: { path: file.destinationPath, body: bodies[index] } }] : []));
      const entries = ready.map((entry) => entry.file);
      try {
        const written =
          entries.length === 0
            ? []
            : writes
              ? await writes.writeMany(entries, { overwrite, ...(signal ? { signal } : {}) })
              : await writeEach(destination.system, entries, overwrite, verify, signal);
        written.forEach((outcome, position) => (outcomes[ready[position]!.index] = outcome));
      } catch (error) {
        if (isStowageError(error, "Unsupported")) writes = undefined;
      }
    }
    const again: PlannedCopy[] = [];
    for (const [index, file] of files.entries()) {
      const outcome = outcomes[index];
      if (outcome && !(outcome instanceof Error)) {
        meter.bytes(file.source.size);
        finished(file, "caller");
      } else again.push(file);
    }
    await runPool(again, SINGLES_PER_BATCH, copyOne, signal);
  };

  for (const skipped of plan.skip) meter.file({ type: "file", path: skipped.path, status: "skipped", bytes: skipped.bytes });
  const { batches, singles } = limits ? splitForBatches(plan.copy, limits) : { batches: [], singles: plan.copy };
  await Promise.all([runPool(singles, concurrency, copyOne, signal), runPool(batches, Math.min(concurrency, BATCHES_IN_FLIGHT), copyBatch, signal)]);

  // Like rclone, delete extras only after every copy succeeded, so a failed run never loses data.
  if (plan.delete.length > 0 && report.failed.length === 0 && !signal?.aborted) {
    const deleted = plan.delete.map((entry) => ({ path: relativePath(destination.path, entry.path) ?? entry.path, bytes: entry.size }));
    if (!dryRun) await writable(destination.system, "delete", destination.url).delete(plan.delete.map((entry) => entry.path));
    report.deleted = deleted;
    for (const file of deleted) meter.file({ type: "file", path: file.path, status: "deleted", bytes: file.bytes });
  }
  meter.finish();
  report.ranOn = [...ranOn];
  report.durationMs = Date.now() - started;
  if (signal?.aborted) {
    throw new StowageError({ code: "Aborted", operation: "transfer", path: source.url, message: "the transfer was aborted", cause: signal.reason });
  }
  if (report.failed.length > 0) throw new TransferError(report);
  await journal?.remove();
  return report;
}
