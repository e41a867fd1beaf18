/**
 * list: ListObjectsV2 pages. One level uses the "/" delimiter (common prefixes are directories);
 * recursive lists every key and yields files only. The root lists buckets.
 */
import { ListBucketsCommand, ListObjectsV2Command, type ListObjectsV2CommandOutput } from "@aws-sdk/client-s3";
import type { Entry, ListOptions } from "../contract.js";
import { prefixOf, splitBucket } from "../paths.js";
import { isMissingBucket, type S3Context } from "./context.js";
import { directoryEntry, fileEntry, objectPath } from "./objects.js";

const DEFAULT_PAGE_SIZE = 1000;

/** Every ListObjectsV2 page below `prefix`; a missing bucket yields nothing. */
export async function* listPages(
  context: S3Context,
  bucket: string,
  prefix: string,
  options: { delimiter?: string | undefined; pageSize?: number | undefined; signal?: AbortSignal | undefined },
): AsyncGenerator<ListObjectsV2CommandOutput> {
  let token: string | undefined;
  do {
    let page: ListObjectsV2CommandOutput;
    try {
      page = await context.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix,
          Delimiter: options.delimiter,
          MaxKeys: options.pageSize ?? DEFAULT_PAGE_SIZE,
          ContinuationToken: token,
        }),
        options.signal,
      );
    } catch (error) {
      if (isMissingBucket(error)) return;
      throw error;
    }
    yield page;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

export async function* listPath(context: S3Context, path: string, options: ListOptions = {}): AsyncGenerator<Entry> {
  const { bucket, key } = splitBucket(path);
  if (bucket === "") {
    yield* listBuckets(context, options.signal);
    return;
  }
  const prefix = prefixOf(key);
  const delimiter = options.recursive ? undefined : "/";
  const pages = listPages(context, bucket, prefix, { delimiter, pageSize: options.pageSize, signal: options.signal });
  for await (const page of pages) {
    const entries: { key: string; entry: Entry }[] = [];
    for (const object of page.Contents ?? []) {
      const objectKey = object.Key;
      // "dir/" marker objects (made by consoles and some tools) are not files.
      if (objectKey === undefined || objectKey.endsWith("/")) continue;
      entries.push({ key: objectKey, entry: fileEntry(bucket, objectKey, object.Size, object.LastModified, object.ETag) });
    }
    for (const common of page.CommonPrefixes ?? []) {
      const commonPrefix = common.Prefix;
      if (commonPrefix === undefined || commonPrefix === prefix) continue;
      entries.push({ key: commonPrefix, entry: directoryEntry(objectPath(bucket, commonPrefix.slice(0, -1))) });
    }
    // Within a page, files and directories come back in key order, as the provider sorts them.
    entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const { entry } of entries) yield entry;
  }
}

async function* listBuckets(context: S3Context, signal: AbortSignal | undefined): AsyncGenerator<Entry> {
  const { Buckets: buckets = [] } = await context.send(new ListBucketsCommand({}), signal);
  for (const bucket of buckets) if (bucket.Name) yield directoryEntry(`/${bucket.Name}`);
}
