/**
 * delete: DeleteObjects in batches of 1,000 keys (the API's limit), with per-key failures
 * collected and reported together. Missing keys are fine. A bucket path deletes the bucket.
 */
import { DeleteBucketCommand, DeleteObjectsCommand, type _Error } from "@aws-sdk/client-s3";
import type { DeleteOptions } from "../contract.js";
import { prefixOf, splitBucket } from "../paths.js";
import { isMissing, type S3Context } from "./context.js";
import { S3Failure, mapS3Error } from "./errors.js";
import { listPages } from "./list.js";
import { objectPath } from "./objects.js";

const BATCH = 1000;

export async function deletePaths(context: S3Context, paths: readonly string[], options: DeleteOptions = {}): Promise<void> {
  const failures: { bucket: string; error: _Error }[] = [];
  for (const path of paths) {
    const { bucket, key } = splitBucket(path);
    if (bucket === "") throw new S3Failure("InvalidInput", "refusing to delete the root of s3");
    const batches = batchesOf(keysToDelete(context, bucket, key, options), BATCH);
    for await (const keys of batches) {
      options.signal?.throwIfAborted();
      const errors = await deleteBatch(context, bucket, keys, options.signal);
      failures.push(...errors.map((error) => ({ bucket, error })));
    }
    if (key === "" && failures.length === 0) await deleteBucket(context, bucket, options.signal);
  }
  if (failures.length > 0) throw failureReport(failures);
}

/** The key itself, and with `recursive` every key below "key/" (the whole bucket for a bucket path). */
async function* keysToDelete(context: S3Context, bucket: string, key: string, options: DeleteOptions): AsyncGenerator<string> {
  if (key !== "") yield key;
  if (!options.recursive) return;
  for await (const page of listPages(context, bucket, prefixOf(key), { signal: options.signal })) {
    for (const object of page.Contents ?? []) if (object.Key !== undefined) yield object.Key;
  }
}

async function* batchesOf<T>(items: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let batch: T[] = [];
  for await (const item of items) {
    batch.push(item);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

async function deleteBatch(context: S3Context, bucket: string, keys: string[], signal: AbortSignal | undefined): Promise<_Error[]> {
  try {
    const output = await context.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }), signal);
    return (output.Errors ?? []).filter((error) => error.Code !== "NoSuchKey");
  } catch (error) {
    if (isMissing(error)) return []; // no bucket, so nothing to delete
    throw error;
  }
}

async function deleteBucket(context: S3Context, bucket: string, signal: AbortSignal | undefined): Promise<void> {
  try {
    await context.send(new DeleteBucketCommand({ Bucket: bucket }), signal);
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
}

/** One error for every key that could not be deleted, coded after the first failure. */
function failureReport(failures: { bucket: string; error: _Error }[]): S3Failure {
  const first = failures[0]!;
  const shown = failures.slice(0, 5).map(({ bucket, error }) => `${objectPath(bucket, error.Key ?? "")} (${error.Code ?? "?"})`);
  const more = failures.length > shown.length ? ` and ${failures.length - shown.length} more` : "";
  return new S3Failure(
    mapS3Error({ Code: first.error.Code })?.code ?? "Unexpected",
    `${failures.length} object(s) could not be deleted: ${shown.join(", ")}${more}`,
    { cause: failures.map((f) => f.error) },
  );
}
