/**
 * Writing block blobs so that a reader sees the old blob or the whole new one, never a part:
 * bytes go up as one Put Blob (or, when large, Put Block ×N + Put Block List); streams always as
 * Put Block ×N + Put Block List. Staged blocks stay invisible until the list is committed, so a
 * body that fails or an aborted signal leaves no blob and an existing blob untouched.
 */
import { addAbortSignal, pipeline, Transform, type TransformCallback } from "node:stream";
import type { BlobRequestConditions, BlockBlobClient } from "@azure/storage-blob";
import { toReadable } from "../body.js";
import type { WriteBody } from "../contract.js";

const MiB = 1024 * 1024;
/** Bytes bodies up to this size are sent as a single Put Blob. */
export const SINGLE_PUT_LIMIT = 32 * MiB;
const DEFAULT_BLOCK_SIZE = 8 * MiB;
const MAX_BLOCKS = 50_000;
/** Blocks buffered at once for a stream; the SDK sends about three quarters of them in parallel. */
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

export async function uploadBody(blob: BlockBlobClient, body: Exclude<WriteBody, Uint8Array | string>, options: UploadOptions): Promise<Uploaded> {
  const counter = new ByteCounter();
  // A failing body destroys the counter with its error, which makes uploadStream reject before
  // it commits. The SDK does not pass the signal to Put Block, so the signal stops the body here.
  pipeline(toReadable(body), counter, () => {});
  if (options.signal) addAbortSignal(options.signal, counter);
  try {
    const response = await blob.uploadStream(counter, blockSizeFor(options), options.concurrency ?? DEFAULT_CONCURRENCY, requestOptions(options));
    return { size: counter.bytes, etag: response.etag };
  } finally {
    // After a failed Put Block the body is no longer read; release it.
    counter.destroy();
  }
}

class ByteCounter extends Transform {
  bytes = 0;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}
