/**
 * Turns whatever a provider throws into a StowageError with the system, operation and path. Each
 * system passes its one mapping function for provider errors.
 */
import type { Readable } from "node:stream";
import { toStowageError, type StowageErrorInit } from "../errors.js";
import type { SystemName } from "./contract.js";

export type ProviderErrorMap = (error: unknown) => Partial<StowageErrorInit> | undefined;

export interface Guard {
  /** Runs `fn`, rethrowing any failure as a StowageError for `operation` on `path`. */
  <T>(operation: string, path: string | undefined, fn: () => Promise<T>): Promise<T>;
  /** Rewrites errors a stream emits, so readers of it see StowageErrors too. */
  stream<S extends Readable>(operation: string, path: string | undefined, stream: S): S;
  /** Wraps a single error. */
  error(operation: string, path: string | undefined, error: unknown): Error;
}

export function createGuard(system: SystemName, map: ProviderErrorMap): Guard {
  const wrap = (operation: string, path: string | undefined, error: unknown) => toStowageError(error, { system, operation, path }, map);
  const guard = (async <T>(operation: string, path: string | undefined, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      throw wrap(operation, path, error);
    }
  }) as Guard;
  guard.error = wrap;
  guard.stream = (operation, path, stream) => {
    // Rewrite the error in place before other listeners see it: destroy(err) emits that error.
    const destroy = stream.destroy.bind(stream);
    stream.destroy = (error?: Error) => destroy(error === undefined || error === null ? error : wrap(operation, path, error));
    return stream;
  };
  return guard;
}

/**
 * Whether what a failed write stored (parts, blocks, a part file) is worth keeping for another
 * attempt to continue: nobody aborted, and the failure may pass.
 */
export function worthKeeping(error: unknown, system: SystemName, map: ProviderErrorMap | undefined, signal: AbortSignal | undefined): boolean {
  return !signal?.aborted && toStowageError(error, { system, operation: "write" }, map).retryable;
}
