/**
 * Multipart upload of a stream with a fixed memory budget (parts.ts). On a failure
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
import { sendParts } from "../parts.js";
import { type S3Context } from "./context.js";

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
  /** Whether a failure (or abort) should leave the stored parts for a later attempt instead of aborting. */
  keepParts?(error: unknown): boolean;
}

export async function uploadParts(
  context: S3Context,
  target: MultipartTarget,
  chunks: AsyncIterator<Buffer>,
  partSize: number,
  concurrency: number,
  continuation: Continuation = {},
): Promise<{ size: number; etag: string | undefined }> {
  const { bucket, key, signal } = target;
  const uploadId = continuation.from?.uploadId ?? (await createUpload(context, target));
  if (!continuation.from) continuation.onCreated?.(uploadId);
  try {
    const parts: CompletedPart[] = [...(continuation.from?.parts ?? [])];
    const sent = await sendParts(chunks, { partSize, concurrency, firstPart: parts.length + 1, signal }, async (partNumber, bytes) => {
      const output = await context.send(
        new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: bytes, ContentLength: bytes.length }),
        signal,
      );
      parts.push({ PartNumber: partNumber, ETag: output.ETag });
    });
    parts.sort((a, b) => a.PartNumber! - b.PartNumber!);
    const completed = await context.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
        ...(target.ifNoneMatch ? { IfNoneMatch: "*" } : {}),
      }),
      signal,
    );
    return { size: sent.size, etag: completed.ETag };
  } catch (error) {
    if (!continuation.keepParts?.(error)) {
      await context.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
    }
    throw error;
  }
}

async function createUpload(context: S3Context, target: MultipartTarget): Promise<string> {
  const created = await context.send(
    new CreateMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, ...(target.contentType ? { ContentType: target.contentType } : {}) }),
    target.signal,
  );
  return created.UploadId!;
}
