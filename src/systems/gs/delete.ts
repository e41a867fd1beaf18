/** Deletes: single objects, or every object under a prefix, a bounded number at a time. */
import type { Bucket, Storage } from "@google-cloud/storage";
import type { DeleteOptions } from "../contract.js";
import { prefixOf, splitBucket } from "../paths.js";
import { gsError } from "./errors.js";
import { isNotFound, pages } from "./objects.js";

/** Deletes in flight at once: enough to hide latency, few enough not to trip rate limits. */
const DELETE_CONCURRENCY = 16;

/** Deletes the object at `path`; with `recursive`, also everything below it. Missing objects are fine. */
export async function deletePath(storage: Storage, path: string, options: DeleteOptions): Promise<void> {
  const { bucket: bucketName, key } = splitBucket(path);
  if (bucketName === "") throw gsError("InvalidInput", "delete", path, "refusing to delete every bucket");
  const bucket = storage.bucket(bucketName);
  await deleteAll(bucket, options.recursive ? namesUnder(bucket, key, options.signal) : single(key), options.signal);
}

async function* single(key: string): AsyncGenerator<string> {
  if (key !== "") yield key;
}

/** The object `key` itself, then every object below `key/` (placeholders included). */
async function* namesUnder(bucket: Bucket, key: string, signal: AbortSignal | undefined): AsyncGenerator<string> {
  if (key !== "") yield key;
  try {
    for await (const page of pages(bucket, prefixOf(key), { signal })) {
      for (const metadata of page.objects) if (metadata.name) yield metadata.name;
    }
  } catch (error) {
    // A missing bucket has nothing to delete.
    if (!isNotFound(error)) throw error;
  }
}

async function deleteAll(bucket: Bucket, names: AsyncIterable<string>, signal: AbortSignal | undefined): Promise<void> {
  const running = new Set<Promise<void>>();
  let failure: unknown;
  for await (const name of names) {
    signal?.throwIfAborted();
    if (failure !== undefined) break;
    const task: Promise<void> = bucket
      .file(name)
      .delete({ ignoreNotFound: true })
      .then(
        () => undefined,
        (error: unknown) => void (failure ??= error),
      )
      .finally(() => running.delete(task));
    running.add(task);
    if (running.size >= DELETE_CONCURRENCY) await Promise.race(running);
  }
  await Promise.all(running);
  if (failure !== undefined) throw failure;
}
