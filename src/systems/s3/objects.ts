/** How S3 objects and prefixes appear as Stowage entries. */
import type { Entry } from "../contract.js";

export function objectPath(bucket: string, key: string): string {
  return key === "" ? `/${bucket}` : `/${bucket}/${key}`;
}

export function stripQuotes(etag: string | undefined): string | undefined {
  return etag?.replace(/^"(.*)"$/, "$1");
}

/** A single-part ETag is the content's MD5; a multipart one ("<md5 of md5s>-<parts>") is not. */
export function md5FromEtag(etag: string | undefined): string | undefined {
  return etag !== undefined && /^[0-9a-f]{32}$/i.test(etag) ? etag.toLowerCase() : undefined;
}

export function fileEntry(bucket: string, key: string, size: number | undefined, mtime: Date | undefined, rawEtag: string | undefined): Entry {
  const entry: Entry = { path: objectPath(bucket, key), type: "file", size: size ?? 0 };
  if (mtime) entry.mtime = mtime;
  const etag = stripQuotes(rawEtag);
  if (etag !== undefined) entry.etag = etag;
  const md5 = md5FromEtag(etag);
  if (md5 !== undefined) entry.md5 = md5;
  return entry;
}

export function directoryEntry(path: string): Entry {
  return { path, type: "directory", size: 0 };
}

/**
 * The x-amz-copy-source value: "bucket/key", URL-encoded per segment so spaces, unicode and
 * "#?%+" survive ("/" stays a separator).
 */
export function copySource(bucket: string, key: string): string {
  return [bucket, ...key.split("/")].map(encodeURIComponent).join("/");
}
