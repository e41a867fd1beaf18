/**
 * Stream uploads as staged blocks with IDs derived from the upload's nonce and the block's index,
 * so an upload that failed can be found again: Azure keeps uncommitted blocks (invisible to
 * readers) for a week, and Get Block List tells which of ours are still there. The committed list
 * names the blocks in order, so a resumed upload stages only the blocks after the ones it reuses.
 */
import { randomBytes } from "node:crypto";
import type { BlockBlobClient } from "@azure/storage-blob";
import type { UploadState } from "../contract.js";

export interface BlockUpload {
  path: string;
  nonce: string;
  blockSize: number;
}

export function newBlockUpload(path: string, blockSize: number): BlockUpload {
  return { path, nonce: randomBytes(8).toString("hex"), blockSize };
}

export function blockState(upload: BlockUpload): UploadState {
  return { kind: "azure-blocks", path: upload.path, nonce: upload.nonce, blockSize: upload.blockSize };
}

/** The state when it describes a block upload of `path`; undefined otherwise. */
export function parseBlockState(path: string, state: UploadState): BlockUpload | undefined {
  const { kind, nonce, blockSize } = state;
  if (kind !== "azure-blocks" || state.path !== path || typeof nonce !== "string" || typeof blockSize !== "number") return undefined;
  return { path, nonce, blockSize };
}

/** Block IDs must all have the same length within a blob: the index is zero-padded. */
export function blockId(upload: BlockUpload, index: number): string {
  return Buffer.from(`${upload.nonce}-${String(index).padStart(6, "0")}`).toString("base64");
}

/**
 * How many leading blocks (each exactly `blockSize`) the upload still has staged, stopping before
 * the block that holds the object's last byte, so a resumed upload always stages one of its own.
 */
export async function reusableBlocks(blob: BlockBlobClient, upload: BlockUpload, size: number, signal?: AbortSignal): Promise<number> {
  let staged: Map<string, number>;
  try {
    const list = await blob.getBlockList("uncommitted", signal ? { abortSignal: signal } : {});
    staged = new Map((list.uncommittedBlocks ?? []).map((block) => [block.name, block.size]));
  } catch (error) {
    // No blob and no staged blocks: nothing to reuse.
    if ((error as { statusCode?: number }).statusCode === 404) return 0;
    throw error;
  }
  let count = 0;
  while ((count + 1) * upload.blockSize < size && staged.get(blockId(upload, count)) === upload.blockSize) count++;
  return count;
}
