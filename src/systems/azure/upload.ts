/**
 * Writing block blobs so that a reader sees the old blob or the whole new one, never a part:
 * bytes go up as one Put Blob (or, when large, Put Block ×N + Put Block List); streams always as
 * Put Block ×N + Put Block List. Staged blocks stay invisible until the list is committed, so a
 * body that fails or an aborted signal leaves no blob and an existing blob untouched. Stream
 * uploads name their blocks so that a later attempt can reuse them (blocks.ts).
 */
import { addAbortSignal } from "node:stream";
import type { BlobRequestConditions, BlockBlobClient } from "@azure/storage-blob";
import { toReadable } from "../body.js";
import type { UploadState, WriteBody } from "../contract.js";
import { sendParts } from "../parts.js";
import { blockId, blockState, newBlockUpload, type BlockUpload } from "./blocks.js";

const MiB = 1024 * 1024;
/** Bytes bodies up to this size are sent as a single Put Blob. */
export const SINGLE_PUT_LIMIT = 32 * MiB;
const DEFAULT_BLOCK_SIZE = 8 * MiB;
const MAX_BLOCKS = 50_000;
/** Blocks buffered and sent at once for a stream. */
const DEFAULT_CONCURRENCY = 5;

export interface UploadOptions {
  /** Known total size, to pick a block size that stays under Azure's 50,000 blocks. */
  size?: number | undefined;
  blockSize?: number | undefined;
  concurrency?: number | undefined;
  conditions?: BlobRequestConditions | undefined;
  contentType?: string | undefined;
  signal?: AbortSignal | undefined;
}

export interface Uploaded {
  size: number;
  etag: string | undefined;
  /** Hex MD5 of the content, from a Put Blob response (Put Block List answers with the list's MD5). */
  md5?: string;
}

function blockSizeFor(options: UploadOptions): number {
  if (options.blockSize) return options.blockSize;
  const needed = options.size === undefined ? 0 : Math.ceil(options.size / MAX_BLOCKS / MiB) * MiB;
  return Math.max(DEFAULT_BLOCK_SIZE, needed);
}

function requestOptions(options: UploadOptions) {
  return {
    ...(options.conditions ? { conditions: options.conditions } : {}),
    ...(options.signal ? { abortSignal: options.signal } : {}),
    ...(options.contentType ? { blobHTTPHeaders: { blobContentType: options.contentType } } : {}),
  };
}

export async function uploadBytes(blob: BlockBlobClient, bytes: Buffer, options: UploadOptions): Promise<Uploaded> {
  const response = await blob.uploadData(bytes, {
    ...requestOptions(options),
    maxSingleShotSize: SINGLE_PUT_LIMIT,
    blockSize: blockSizeFor({ ...options, size: bytes.length }),
    concurrency: options.concurrency ?? DEFAULT_CONCURRENCY,
  });
  const singlePut = bytes.length <= SINGLE_PUT_LIMIT && response.contentMD5;
  return { size: bytes.length, etag: response.etag, ...(singlePut ? { md5: Buffer.from(response.contentMD5!).toString("hex") } : {}) };
}

/** A stream upload's identity: the blob path, and the earlier upload it continues if any. */
export interface BlockUploadPlan {
  path: string;
  /** The staged upload to continue, and the bytes (whole blocks) it already holds. */
  resume?: { upload: BlockUpload; offset: number } | undefined;
  /** Told the upload's state before its first block is staged. */
  save?: ((state: UploadState) => void) | undefined;
}

/**
 * Stages the body as blocks (blocks.ts), `concurrency` at once from reused buffers, then commits
 * the list. A failure or abort commits nothing, so the old blob (or none) stays.
 */
export async function uploadBody(
  blob: BlockBlobClient,
  body: Exclude<WriteBody, Uint8Array | string>,
  options: UploadOptions,
  plan: BlockUploadPlan,
): Promise<Uploaded> {
  const upload = plan.resume?.upload ?? newBlockUpload(plan.path, blockSizeFor(options));
  const offset = plan.resume?.offset ?? 0;
  const firstBlock = offset / upload.blockSize;
  if (!plan.resume) plan.save?.(blockState(upload));
  const source = toReadable(body);
  if (options.signal) addAbortSignal(options.signal, source);
  try {
    const sent = await sendParts(
      buffers(source),
      { partSize: upload.blockSize, concurrency: options.concurrency ?? DEFAULT_CONCURRENCY, firstPart: firstBlock + 1, signal: options.signal },
      async (partNumber, bytes) => {
        await blob.stageBlock(blockId(upload, partNumber - 1), bytes, bytes.length, options.signal ? { abortSignal: options.signal } : {});
      },
    );
    const ids = Array.from({ length: firstBlock + sent.parts }, (_, index) => blockId(upload, index));
    const response = await blob.commitBlockList(ids, requestOptions(options));
    return { size: offset + sent.size, etag: response.etag };
  } finally {
    // After a failed Put Block the body is no longer read; release it.
    source.destroy();
  }
}

async function* buffers(source: AsyncIterable<Uint8Array | string>): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    yield typeof chunk === "string" ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
}
