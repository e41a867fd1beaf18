/**
 * Asking a system for what it may or may not have: the writes, and each extension of the contract.
 * The one place a missing ability becomes an `Unsupported` error, so no system carries methods that
 * exist only to refuse.
 */
import type { Readable } from "node:stream";
import { StowageError } from "../errors.js";
import { resolveRange, sliceBytes, validateRange } from "./body.js";
import type { ByteRange, ExtensionName, Extensions, ReadOptions, System, Writes } from "./contract.js";

export type With<K extends ExtensionName> = System & Pick<Extensions, K>;
export type Writable = System & Writes;

/** Why a system lacks an extension, in the words an error gives. */
const LACKS: Record<ExtensionName, string> = {
  readRange: "cannot serve byte ranges",
  readBytes: "cannot read a range into a buffer",
  openRangeWriter: "cannot write a file as ranges",
  copy: "cannot copy inside itself",
  exec: "cannot run commands",
  exportCredentials: "cannot forward its credentials",
  uploads: "cannot resume uploads",
  batches: "cannot write files in batches",
  batchReads: "cannot read files in batches",
};

/** Whether the system has the extension. */
export function has<K extends ExtensionName>(system: System, extension: K): system is With<K> {
  return system[extension] !== undefined;
}

/** The system, known to have the extension; `Unsupported` for `operation` on `path` otherwise. */
export function need<K extends ExtensionName>(system: System, extension: K, operation: string = extension, path?: string): With<K> {
  if (has(system, extension)) return system;
  throw unsupported(system, operation, path, `${system.name} ${LACKS[extension]}`);
}

/** Whether the system can store data (write, delete, mkdir). */
export function canWrite(system: System): system is Writable {
  return system.write !== undefined && system.delete !== undefined && system.mkdir !== undefined;
}

/** The system, known to store data; `Unsupported` (read-only) for `operation` on `path` otherwise. */
export function writable(system: System, operation: string, path?: string): Writable {
  if (canWrite(system)) return system;
  throw unsupported(system, operation, path, `${system.name} is read-only`);
}

function unsupported(system: System, operation: string, path: string | undefined, message: string): StowageError {
  return new StowageError({ code: "Unsupported", system: system.name, operation, path, message });
}

/**
 * A byte range of an object on any system: served by the provider where it has `readRange`, else
 * cut from the whole object as it streams past (what a read-only git blob allows).
 */
export async function readRange(system: System, path: string, range: ByteRange | undefined, options: ReadOptions = {}): Promise<Readable> {
  if (range === undefined) return system.read(path, options);
  if (has(system, "readRange")) return system.readRange(path, range, options);
  validateRange(range);
  const size = "suffix" in range || range.length === undefined ? (await system.stat(path, options)).size : Infinity;
  const { start, end } = resolveRange(range, size);
  const whole = await system.read(path, options);
  return sliceBytes(whole, start, end);
}
