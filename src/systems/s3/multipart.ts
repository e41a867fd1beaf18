/**
 * Multipart upload of a stream with a fixed memory budget: `concurrency` part buffers of `partSize`
 * bytes, allocated once and reused, so a large upload makes no garbage of its own. On a failure
 * or abort the upload is aborted server-side, leaving no object and no stored parts, unless the
 * caller keeps them to resume (`Continuation.keepParts`).
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  type CompletedPart,
} from "@aws-sdk/client-s3";
import { sendOptions, type S3Context } from "./context.js";

export interface MultipartTarget {
  bucket: string;
  key: string;
  contentType: string | undefined;
  /** Send If-None-Match: * with the completion. */
  ifNoneMatch: boolean;
  signal: AbortSignal | undefined;
}

/** Continuing an earlier upload, and keeping this one's parts for a later attempt. */
export interface Continuation {
  /** The upload to continue and the parts 1..k it holds; the body starts with part k+1. */
  from?: { uploadId: string; parts: CompletedPart[] };
  /** Told the upload id once the upload exists. */
  onCreated?(uploadId: string): void;
  /** Whether a failure should leave the stored parts for a later attempt instead of aborting. */
  keepParts?(error: unknown): boolean;
}

/** Fills part buffers from the body's chunks, copying each byte once. */
class PartReader {
  #pending: Buffer | undefined;
  #ended = false;
  readonly #chunks: AsyncIterator<Buffer>;
  constructor(chunks: AsyncIterator<Buffer>) {
    this.#chunks = chunks;
  }

  /** Fills `buffer` from the body; returns the bytes filled (less than full only at the end). */
  async fill(buffer: Buffer): Promise<number> {
    let filled = 0;
    while (filled < buffer.length) {
      if (!this.#pending) {
        if (this.#ended) break;
        const next = await this.#chunks.next();
        if (next.done) {
          this.#ended = true;
          break;
        }
        this.#pending = next.value;
      }
      const copied = this.#pending.copy(buffer, filled);
      filled += copied;
      this.#pending = copied < this.#pending.length ? this.#pending.subarray(copied) : undefined;
    }
    return filled;
  }
}

export async function uploadParts(
  context: S3Context,
  target: MultipartTarget,
  chunks: AsyncIterator<Buffer>,
  partSize: number,
  concurrency: number,
  continuation: Continuation = {},
): Promise<{ size: number; etag: string | undefined }> {
  const { client } = context;
  const { bucket, key, signal } = target;
  const uploadId = continuation.from?.uploadId ?? (await createUpload(context, target));
  if (!continuation.from) continuation.onCreated?.(uploadId);
  try {
    const reader = new PartReader(chunks);
    const parts: CompletedPart[] = [...(continuation.from?.parts ?? [])];
    /** Bytes of this attempt's body (the parts it sends). */
    let size = 0;
    let nextPart = parts.length + 1;
    let done = false;
    // Each worker owns one buffer: fill it, upload it, reuse it. Filling goes one worker at a time
    // (the `reading` chain), so parts are numbered in body order while their uploads overlap.
    let reading: Promise<unknown> = Promise.resolve();
    const worker = async () => {
      try {
        await fillAndSend();
      } catch (error) {
        done = true; // the other workers finish their part in flight and stop
        throw error;
      }
    };
    const fillAndSend = async () => {
      let buffer: Buffer | undefined;
      while (!done) {
        let filled = 0;
        let partNumber = 0;
        const turn = reading.then(async () => {
          if (done) return;
          buffer ??= Buffer.allocUnsafeSlow(partSize);
          filled = await reader.fill(buffer);
          if (filled < partSize) done = true;
          if (filled > 0) partNumber = nextPart++;
        });
        reading = turn.catch(() => undefined);
        await turn;
        if (partNumber === 0) return;
        signal?.throwIfAborted();
        size += filled;
        const output = await client.send(
          new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: buffer!.subarray(0, filled), ContentLength: filled }),
          sendOptions(signal),
        );
        parts.push({ PartNumber: partNumber, ETag: output.ETag });
      }
    };
    const results = await Promise.allSettled(Array.from({ length: concurrency }, worker));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failure) throw failure.reason;
    signal?.throwIfAborted();
    parts.sort((a, b) => a.PartNumber! - b.PartNumber!);
    const completed = await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
        ...(target.ifNoneMatch ? { IfNoneMatch: "*" } : {}),
      }),
      sendOptions(signal),
    );
    return { size, etag: completed.ETag };
  } catch (error) {
    if (signal?.aborted || !continuation.keepParts?.(error)) {
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
    }
    throw error;
  }
}

async function createUpload(context: S3Context, target: MultipartTarget): Promise<string> {
  const created = await context.client.send(
    new CreateMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, ...(target.contentType ? { ContentType: target.contentType } : {}) }),
    sendOptions(target.signal),
  );
  return created.UploadId!;
}
