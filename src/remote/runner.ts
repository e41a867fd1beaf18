/**
 * What an SSH host runs for a copy out of it or into it: reads one wire request (`transfer/wire.ts`)
 * from stdin, copies here with the local engine (between this host's disk and a URL), and answers
 * in wire lines on stdout. The build bundles `main.ts` with everything it needs into one file,
 * `dist/runner/stowage-runner.mjs`, which the caller uploads into the host's cache
 * (`transfer/runner-cache.ts`): the host needs only Node.
 *
 * It uses the transfer engine and the systems directly, not the resources (tables, names, clusters),
 * so the bundle the host compiles before every copy holds no Arrow or Parquet: the wire's places
 * are host paths and URLs, never names.
 */
import { parseAddress } from "../systems/addresses.js";
import { systems } from "../systems/registry.js";
import { transferBetween } from "../transfer/between.js";
import { TransferError } from "../transfer/engine.js";
import type { ProgressEvent } from "../transfer/types.js";
import { decodeRequest, encodeError, encodeEvent, encodeReport, placeAddress } from "../transfer/wire.js";

/** Runs one request; resolves with the process's exit code. Every outcome is written as wire lines. */
export async function runRequest(input: string, write: (line: string) => void): Promise<number> {
  try {
    const request = decodeRequest(input);
    // The credentials live only in this process's memory, for the provider chain of the end given as a URL.
    Object.assign(process.env, request.env);
    const report = await transferBetween(parseAddress(placeAddress(request.source)), parseAddress(placeAddress(request.destination)), {
      ...request.options,
      remote: "never",
      ...(request.progress === false ? {} : { onProgress: (event: ProgressEvent) => write(encodeEvent(event)) }),
    }).catch((error: unknown) => {
      // Failed files are part of the report: the caller raises them as its own TransferError.
      if (error instanceof TransferError) return error.report;
      throw error;
    });
    write(encodeReport(report));
    return 0;
  } catch (error) {
    write(encodeError(error));
    return 1;
  } finally {
    await systems.closeAll();
  }
}
