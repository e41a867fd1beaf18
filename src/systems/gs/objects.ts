/** Object metadata, `stat` and `list`: GCS objects and prefixes seen as files and directories. */
import type { Bucket, FileMetadata, Storage } from "@google-cloud/storage";
import type { Entry, ListOptions, Stat } from "../contract.js";
import { prefixOf, splitBucket } from "../paths.js";
import { gsError, mapGsError } from "./errors.js";

const DEFAULT_PAGE_SIZE = 1000;

export function fileStat(bucket: string, metadata: FileMetadata): Stat {
  const stat: Stat = { path: `/${bucket}/${metadata.name}`, type: "file", size: Number(metadata.size ?? 0) };
  if (metadata.updated) stat.mtime = new Date(metadata.updated);
  if (metadata.etag) stat.etag = metadata.etag.replace(/^"|"$/g, "");
  // Composite objects have no MD5; GCS sends it base64-encoded.
  if (metadata.md5Hash) stat.md5 = Buffer.from(metadata.md5Hash, "base64").toString("hex");
  return stat;
}

function directory(path: string): Stat {
  return { path, type: "directory", size: 0 };
}

export function isNotFound(error: unknown): boolean {
  return mapGsError(error)?.code === "NotFound";
}

/** True when at least one object lies below `prefix` ("" = anywhere in the bucket). */
async function hasObjectsBelow(bucket: Bucket, prefix: string): Promise<boolean> {
  const [files] = await bucket.getFiles({ prefix, maxResults: 1, autoPaginate: false });
  return files.length > 0;
}

export async function statPath(storage: Storage, path: string): Promise<Stat> {
  const { bucket: bucketName, key } = splitBucket(path);
  if (bucketName === "") return directory("/");
  const bucket = storage.bucket(bucketName);
  if (key === "") return statBucket(bucket);
  try {
    const [metadata] = await bucket.file(key).getMetadata();
    return fileStat(bucketName, metadata);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    if (await hasObjectsBelow(bucket, prefixOf(key))) return directory(`/${bucketName}/${key}`);
    throw error;
  }
}

/**
 * A bucket is a directory when it exists. Emulators cannot get buckets (they appear with their first
 * object), and narrow IAM roles may allow objects but not buckets.get: then objects inside count.
 */
async function statBucket(bucket: Bucket): Promise<Stat> {
  try {
    await bucket.getMetadata();
    return directory(`/${bucket.name}`);
  } catch (error) {
    if (await hasObjectsBelow(bucket, "").catch(() => false)) return directory(`/${bucket.name}`);
    throw error;
  }
}

/** Objects named under `prefix`, page by page; with `delimiter` also the common prefixes one level down. */
export async function* pages(
  bucket: Bucket,
  prefix: string,
  options: { delimiter?: string; pageSize?: number; signal?: AbortSignal | undefined },
): AsyncGenerator<{ objects: FileMetadata[]; prefixes: string[] }> {
  let pageToken: string | undefined;
  do {
    options.signal?.throwIfAborted();
    const [files, next, response] = await bucket.getFiles({
      prefix,
      autoPaginate: false,
      maxResults: options.pageSize ?? DEFAULT_PAGE_SIZE,
      ...(options.delimiter === undefined ? {} : { delimiter: options.delimiter }),
      ...(pageToken === undefined ? {} : { pageToken }),
    });
    const prefixes = (response as { prefixes?: string[] } | undefined)?.prefixes ?? [];
    yield { objects: files.map((file) => file.metadata), prefixes };
    pageToken = (next as { pageToken?: string } | null | undefined)?.pageToken || undefined;
  } while (pageToken !== undefined);
}

export async function* listPath(storage: Storage, path: string, options: ListOptions = {}): AsyncGenerator<Entry> {
  const { bucket: bucketName, key } = splitBucket(path);
  if (bucketName === "") {
    yield* listBuckets(storage, options);
    return;
  }
  const bucket = storage.bucket(bucketName);
  const prefix = prefixOf(key);
  const delimiter = options.recursive ? {} : { delimiter: "/" };
  const pageOptions = { ...delimiter, signal: options.signal, ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }) };
  try {
    for await (const page of pages(bucket, prefix, pageOptions)) {
      for (const dir of page.prefixes) yield directory(`/${bucketName}/${dir.slice(0, -1)}`);
      // "dir/" placeholder objects (made by consoles and other tools) are folders, not files.
      for (const metadata of page.objects) if (!metadata.name?.endsWith("/")) yield fileStat(bucketName, metadata);
    }
  } catch (error) {
    // A missing bucket lists as empty, like a missing prefix.
    if (!isNotFound(error)) throw error;
  }
}

async function* listBuckets(storage: Storage, options: ListOptions): AsyncGenerator<Entry> {
  if (options.recursive) {
    throw gsError("Unsupported", "list", "/", "a recursive listing needs a bucket: gs://<bucket>/…");
  }
  let pageToken: string | undefined;
  do {
    options.signal?.throwIfAborted();
    const [buckets, next] = await storage.getBuckets({
      autoPaginate: false,
      maxResults: options.pageSize ?? DEFAULT_PAGE_SIZE,
      ...(pageToken === undefined ? {} : { pageToken }),
    });
    for (const bucket of buckets) yield directory(`/${bucket.name}`);
    pageToken = (next as { pageToken?: string } | null | undefined)?.pageToken || undefined;
  } while (pageToken !== undefined);
}
