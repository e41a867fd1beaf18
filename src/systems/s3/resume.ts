/**
 * Resuming a multipart upload an earlier attempt left unfinished. The saved state is only the
 * upload id and part size: the parts themselves (numbers, sizes, ETags) are asked of the server
 * with ListParts, so nothing is trusted that the server does not still hold.
 */
import { AbortMultipartUploadCommand, ListPartsCommand, type CompletedPart, type Part } from "@aws-sdk/client-s3";
import type { UploadState } from "../contract.js";
import { splitBucket } from "../paths.js";
import { type S3Context } from "./context.js";
import { s3ErrorName } from "./errors.js";

export interface MultipartState {
  path: string;
  uploadId: string;
  partSize: number;
}

export function multipartState(path: string, uploadId: string, partSize: number): UploadState {
  return { kind: "s3-multipart", path, uploadId, partSize };
}

/** The state when it describes an S3 multipart upload of `path`; undefined otherwise. */
export function parseState(path: string, state: UploadState): MultipartState | undefined {
  const { kind, uploadId, partSize } = state;
  if (kind !== "s3-multipart" || state.path !== path || typeof uploadId !== "string" || typeof partSize !== "number") return undefined;
  return { path, uploadId, partSize };
}

/** Every part the server holds for the upload, or undefined when the upload no longer exists. */
async function listParts(context: S3Context, upload: MultipartState, signal?: AbortSignal): Promise<Part[] | undefined> {
  const { bucket, key } = splitBucket(upload.path);
  const parts: Part[] = [];
  let marker: string | undefined;
  try {
    for (;;) {
      const page = await context.send(
        new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: upload.uploadId, ...(marker ? { PartNumberMarker: marker } : {}) }),
        signal,
      );
      parts.push(...(page.Parts ?? []));
      if (!page.IsTruncated || page.NextPartNumberMarker === undefined) return parts;
      marker = String(page.NextPartNumberMarker);
    }
  } catch (error) {
    if (s3ErrorName(error) === "NoSuchUpload") return undefined;
    throw error;
  }
}

/**
 * The parts 1..k the upload holds whole (each exactly `partSize` bytes), stopping before the part
 * that holds the object's last byte: a resumed upload always sends at least one part of its own.
 */
export async function reusableParts(context: S3Context, upload: MultipartState, size: number, signal?: AbortSignal): Promise<CompletedPart[]> {
  const parts = await listParts(context, upload, signal);
  if (!parts) return [];
  const byNumber = new Map(parts.map((part) => [part.PartNumber, part]));
  const reusable: CompletedPart[] = [];
  for (let number = 1; number * upload.partSize < size; number++) {
    const part = byNumber.get(number);
    if (part?.Size !== upload.partSize || part.ETag === undefined) break;
    reusable.push({ PartNumber: number, ETag: part.ETag });
  }
  return reusable;
}

export async function resumableOffset(context: S3Context, path: string, state: UploadState, size: number, signal?: AbortSignal): Promise<number> {
  const upload = parseState(path, state);
  if (!upload) return 0;
  return (await reusableParts(context, upload, size, signal)).length * upload.partSize;
}

export async function discardUpload(context: S3Context, path: string, state: UploadState): Promise<void> {
  const upload = parseState(path, state);
  if (!upload) return;
  const { bucket, key } = splitBucket(upload.path);
  await context.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: upload.uploadId })).catch((error: unknown) => {
    if (s3ErrorName(error) !== "NoSuchUpload") throw error;
  });
}
