/** `copy` and `sync` between any two places, the functions behind `Folder.to` and `Blob.to`. */
import { transferBetween } from "../transfer/between.js";
import type { TransferOptions, TransferReport } from "../transfer/types.js";
import { resolvePlace, type Place } from "./location.js";

/** Copies a folder or file to another place, on any two systems. Existing files are replaced. */
export async function copy(source: Place, destination: Place, options: TransferOptions = {}): Promise<TransferReport> {
  return transferBetween(resolvePlace(source, { kind: "folders" }), resolvePlace(destination, { kind: "folders" }), options);
}

/** Makes the destination mirror the source: copies what changed and deletes what the source lacks. */
export async function sync(source: Place, destination: Place, options: TransferOptions = {}): Promise<TransferReport> {
  return copy(source, destination, { skip: "size-mtime", ...options, deleteExtras: true });
}
