/**
 * write: a body that fits in one part is sent with one PutObject; anything larger is a multipart
 * upload with a fixed set of reused part buffers (multipart.ts). A multipart upload that fails or is
 * aborted is aborted server-side, so no object and no pending upload remain.
 *
 * `overwrite: false` first checks with HeadObject (which also avoids sending bytes for nothing), then
 * writes with `If-None-Match: *`. Servers without conditional PUTs (Swift s3api answers 501) get a
 * plain PUT after the check: there, two writers racing for the same new key can both succeed.
 *
 * With a checkpoint, a multipart upload saves its id, keeps its parts when a failure may pass, and a
 * later attempt continues it (resume.ts): the body then starts after the parts the server holds.
 */
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { Readable } from "node:stream";
import { bytesOf, isBytes, toReadable } from "../body.js";
import type { UploadCheckpoint, WriteBody, WriteOptions, WriteResult } from "../contract.js";
import { worthKeeping } from "../guard.js";
import { splitBucket } from "../paths.js";
import { MIN_PART_SIZE } from "./client.js";
import { isMissingBucket, isNotImplemented, type S3Context } from "./context.js";
import { S3Failure, mapS3Error } from "./errors.js";
import { uploadParts, type Continuation } from "./multipart.js";
import { md5FromEtag, objectPath, stripQuotes } from "./objects.js";
import { multipartState, parseState, reusableParts } from "./resume.js";

const MiB = 1024 * 1024;
export const DEFAULT_PART_SIZE = 16 * MiB;
export const DEFAULT_CONCURRENCY = 4;

interface Target {
  bucket: string;
  key: string;
  contentType: string | undefined;
  /** The whole body's MD5 (hex) from the caller, sent as Content-MD5 on a single PUT. */
  md5: string | undefined;
  exclusive: boolean;
  signal: AbortSignal | undefined;
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException("The write was aborted", "AbortError");
}

function checkTuning(partSize: number, concurrency: number): void {
  if (!Number.isSafeInteger(partSize) || partSize < MIN_PART_SIZE) {
    throw new S3Failure("InvalidInput", `partSize must be at least ${MIN_PART_SIZE} bytes (S3's minimum part), got ${partSize}`);
  }
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    throw new S3Failure("InvalidInput", `concurrency must be a positive integer, got ${concurrency}`);
  }
}

export async function writeObject(context: S3Context, path: string, body: WriteBody, options: WriteOptions = {}): Promise<WriteResult> {
  const { bucket, key } = splitBucket(path);
  if (bucket === "" || key === "") throw new S3Failure("InvalidInput", "write needs an object path /bucket/key");
  const { signal } = options;
  signal?.throwIfAborted();
  const { checkpoint } = options;
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const resumed = checkpoint?.resume ? await continuationOf(context, path, checkpoint.resume, signal) : undefined;
  const partSize = resumed?.partSize ?? options.partSize ?? DEFAULT_PART_SIZE;
  checkTuning(partSize, concurrency);
  const target: Target = { bucket, key, contentType: options.contentType, md5: options.md5, exclusive: options.overwrite === false, signal };
  if (target.exclusive && (await context.headObject(bucket, key, signal))) {
    throw new S3Failure("AlreadyExists", "the object exists and overwrite is false");
  }
  const continuation: Continuation = checkpoint ? keepingParts(path, partSize, checkpoint, signal) : {};
  if (resumed) continuation.from = resumed.from;

  if (!resumed && isBytes(body) && bytesOf(body).length <= partSize) return putObject(context, target, bytesOf(body));
  const source = isBytes(body) ? Readable.from(slices(bytesOf(body), MiB)) : toReadable(body);
  // Aborting destroys the source, so the upload fails the same way as for a broken body.
  const onAbort = () => source.destroy(abortReason(signal!));
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Uint8Array | string>;
    if (resumed) {
      const rest = await uploadMultipart(context, target, iterator, [], partSize, concurrency, continuation);
      return { ...rest, size: resumed.offset + rest.size };
    }
    const head = await readHead(iterator, partSize);
    if (head.ended) return await putObject(context, target, Buffer.concat(head.chunks));
    return await uploadMultipart(context, target, iterator, head.chunks, partSize, concurrency, continuation);
  } catch (error) {
    source.destroy();
    throw error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * The upload a checkpoint continues, with the parts before `offset` as the server lists them now.
 * A mismatch (the upload is gone or lost parts since the offset was taken) is a retryable Conflict:
 * the next attempt asks for the offset again.
 */
async function continuationOf(
  context: S3Context,
  path: string,
  resume: NonNullable<UploadCheckpoint["resume"]>,
  signal: AbortSignal | undefined,
): Promise<{ partSize: number; offset: number; from: NonNullable<Continuation["from"]> }> {
  const upload = parseState(path, resume.state);
  if (!upload) throw new S3Failure("InvalidInput", "the upload to resume is not an S3 multipart upload of this object");
  const parts = await reusableParts(context, upload, resume.offset + 1, signal);
  if (parts.length * upload.partSize !== resume.offset) {
    throw new S3Failure("Conflict", `the upload to resume holds ${parts.length * upload.partSize} bytes, not ${resume.offset}`, { retryable: true });
  }
  return { partSize: upload.partSize, offset: resume.offset, from: { uploadId: upload.uploadId, parts } };
}

/** Saves a new upload's id and keeps its parts on failures that may pass, for a later attempt. */
function keepingParts(path: string, partSize: number, checkpoint: UploadCheckpoint, signal: AbortSignal | undefined): Continuation {
  return {
    onCreated: (uploadId) => checkpoint.save(multipartState(path, uploadId, partSize)),
    keepParts: (error) => worthKeeping(error, "s3", mapS3Error, signal),
  };
}

/** Views of `bytes` in `size` pieces, without copying. */
function* slices(bytes: Buffer, size: number): Generator<Buffer> {
  for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
}

function toBuffer(chunk: Uint8Array | string): Buffer {
  return typeof chunk === "string" ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** Reads until more than `limit` bytes are buffered or the body ends: one request or multipart. */
async function readHead(iterator: AsyncIterator<Uint8Array | string>, limit: number): Promise<{ chunks: Buffer[]; ended: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  while (size <= limit) {
    const next = await iterator.next();
    if (next.done) return { chunks, ended: true };
    const chunk = toBuffer(next.value);
    chunks.push(chunk);
    size += chunk.length;
  }
  return { chunks, ended: false };
}

async function putObject(context: S3Context, target: Target, bytes: Buffer): Promise<WriteResult> {
  const { bucket, key, contentType, exclusive, signal } = target;
  const contentMd5 = target.md5 === undefined ? undefined : Buffer.from(target.md5, "hex").toString("base64");
  let createdBucket = false;
  for (;;) {
    const conditional = exclusive && context.conditionalPut !== false;
    try {
      const output = await context.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: bytes,
          ContentLength: bytes.length,
          ...(contentType ? { ContentType: contentType } : {}),
          ...(contentMd5 ? { ContentMD5: contentMd5 } : {}),
          ...(conditional ? { IfNoneMatch: "*" } : {}),
        }),
        signal,
      );
      if (conditional) context.conditionalPut = true;
      return result(bucket, key, bytes.length, output.ETag);
    } catch (error) {
      if (!createdBucket && isMissingBucket(error)) {
        createdBucket = true;
        await context.createBucket(bucket);
      } else if (conditional && isNotImplemented(error)) {
        context.conditionalPut = false;
      } else {
        throw error;
      }
    }
  }
}

async function uploadMultipart(
  context: S3Context,
  target: Target,
  rest: AsyncIterator<Uint8Array | string>,
  head: Buffer[],
  partSize: number,
  concurrency: number,
  continuation: Continuation,
): Promise<WriteResult> {
  const { bucket, key, signal } = target;
  // The body can be read only once, so the bucket must exist before the first part is taken.
  await context.ensureBucket(bucket, signal);
  async function* chunks(): AsyncGenerator<Buffer> {
    // Shift, not iterate: a chunk already copied into a part must not stay referenced here.
    for (let chunk = head.shift(); chunk !== undefined; chunk = head.shift()) yield chunk;
    for (let next = await rest.next(); !next.done; next = await rest.next()) yield toBuffer(next.value);
  }
  const uploaded = await uploadParts(
    context,
    {
      bucket,
      key,
      contentType: target.contentType,
      // Servers that ignore it on completion are covered by the HEAD check.
      ifNoneMatch: target.exclusive && context.conditionalPut !== false,
      signal,
    },
    chunks(),
    partSize,
    concurrency,
    continuation,
  );
  return result(bucket, key, uploaded.size, uploaded.etag);
}

function result(bucket: string, key: string, size: number, etag: string | undefined): WriteResult {
  const written: WriteResult = { path: objectPath(bucket, key), size };
  const stripped = stripQuotes(etag);
  if (stripped !== undefined) written.etag = stripped;
  // A single-part upload's ETag is the MD5 of its content; a multipart one ("…-N") is not.
  const md5 = md5FromEtag(stripped);
  if (md5) written.md5 = md5;
  return written;
}
