/** stat: an object, else a prefix with objects below it, else NotFound. */
import { HeadBucketCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import type { Stat } from "../contract.js";
import { prefixOf, splitBucket } from "../paths.js";
import { type S3Context } from "./context.js";
import { S3Failure, s3Status } from "./errors.js";
import { directoryEntry, fileEntry, objectPath } from "./objects.js";

export async function statPath(context: S3Context, path: string, signal?: AbortSignal): Promise<Stat> {
  const { bucket, key } = splitBucket(path);
  if (bucket === "") return directoryEntry("/");
  if (key === "") {
    await context.send(new HeadBucketCommand({ Bucket: bucket }), signal);
    return directoryEntry(objectPath(bucket, ""));
  }
  // Without s3:ListBucket on the whole bucket (a credential scoped to a prefix), S3 answers a HEAD
  // of a missing key with 403: the key may still be a prefix that can be listed.
  let denied: unknown;
  const head = await context.headObject(bucket, key, signal).catch((error: unknown) => {
    if (s3Status(error) !== 403) throw error;
    denied = error;
    return undefined;
  });
  if (head) return fileEntry(bucket, key, head.ContentLength, head.LastModified, head.ETag);
  // Not an object: a directory if anything lives below "key/" (a "key/" marker object counts).
  const below = await context.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefixOf(key), MaxKeys: 1 }), signal);
  if ((below.KeyCount ?? below.Contents?.length ?? 0) > 0) return directoryEntry(objectPath(bucket, key));
  if (denied !== undefined) throw denied;
  throw new S3Failure("NotFound", "no such object or prefix");
}
