/**
 * copy: CopyObject inside the provider; objects larger than `copyPartSize` (default 5 GiB, the
 * CopyObject limit) are copied with UploadPartCopy in parts of that size.
 *
 * Part copies pin the source with CopySourceIfMatch only for single-part ETags: Swift s3api answers
 * 412 to a multipart ETag there, so a multipart source changing mid-copy is not detected.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type HeadObjectCommandOutput,
} from "@aws-sdk/client-s3";
import type { CopyOptions } from "../contract.js";
import { splitBucket } from "../paths.js";
import { isMissingBucket, isNotImplemented, type S3Context } from "./context.js";
import { S3Failure, s3ErrorName, s3Status } from "./errors.js";
import { copySource, md5FromEtag, stripQuotes } from "./objects.js";

const PART_COPY_CONCURRENCY = 4;

interface Endpoints {
  from: { bucket: string; key: string };
  to: { bucket: string; key: string };
  exclusive: boolean;
  signal: AbortSignal | undefined;
}

export async function copyObject(context: S3Context, fromPath: string, toPath: string, options: CopyOptions = {}): Promise<void> {
  const from = splitBucket(fromPath);
  const to = splitBucket(toPath);
  if (from.key === "" || to.key === "") throw new S3Failure("InvalidInput", "copy takes object paths /bucket/key");
  const { signal } = options;
  // A size known from a listing spares the HEAD for objects one CopyObject can take (it reports
  // a missing source itself); larger ones need the HEAD's ETag to pin their parts.
  const oneRequest = options.size !== undefined && options.size <= context.settings.copyPartSize;
  const source = oneRequest ? undefined : await context.headObject(from.bucket, from.key, signal);
  if (!oneRequest && !source) throw new S3Failure("NotFound", `no such object ${fromPath}`);
  const job: Endpoints = { from, to, exclusive: options.overwrite === false, signal };
  if (job.exclusive && (await context.headObject(to.bucket, to.key, signal))) {
    throw new S3Failure("AlreadyExists", "the destination exists and overwrite is false");
  }
  let createdBucket = false;
  for (;;) {
    try {
      if (source && (source.ContentLength ?? 0) > context.settings.copyPartSize) return await copyInParts(context, job, source);
      return await copyWhole(context, job);
    } catch (error) {
      if (createdBucket || !isMissingBucket(error)) throw error;
      createdBucket = true;
      await context.createBucket(to.bucket);
    }
  }
}

async function copyWhole(context: S3Context, job: Endpoints): Promise<void> {
  for (;;) {
    const conditional = job.exclusive && context.conditionalPut !== false;
    try {
      await context.send(
        new CopyObjectCommand({
          Bucket: job.to.bucket,
          Key: job.to.key,
          CopySource: copySource(job.from.bucket, job.from.key),
          ...(conditional ? { IfNoneMatch: "*" } : {}),
        }),
        job.signal,
      );
      if (conditional) context.conditionalPut = true;
      return;
    } catch (error) {
      if (!(conditional && isNotImplemented(error))) throw error;
      context.conditionalPut = false;
    }
  }
}

async function copyInParts(context: S3Context, job: Endpoints, source: HeadObjectCommandOutput): Promise<void> {
  const { settings } = context;
  const { to, signal } = job;
  const size = source.ContentLength ?? 0;
  // The ETag as the server sent it (quoted), used only when it is a plain MD5.
  const pinnedEtag = md5FromEtag(stripQuotes(source.ETag)) !== undefined ? source.ETag : undefined;
  const created = await context.send(
    new CreateMultipartUploadCommand({
      Bucket: to.bucket,
      Key: to.key,
      ...(source.ContentType ? { ContentType: source.ContentType } : {}),
      ...(source.Metadata ? { Metadata: source.Metadata } : {}),
    }),
    signal,
  );
  const uploadId = created.UploadId;
  try {
    const ranges: { partNumber: number; start: number; end: number }[] = [];
    for (let start = 0, partNumber = 1; start < size; start += settings.copyPartSize, partNumber++) {
      ranges.push({ partNumber, start, end: Math.min(size, start + settings.copyPartSize) - 1 });
    }
    const parts: CompletedPart[] = [];
    await eachLimit(ranges, PART_COPY_CONCURRENCY, async ({ partNumber, start, end }) => {
      try {
        const output = await context.send(
          new UploadPartCopyCommand({
            Bucket: to.bucket,
            Key: to.key,
            UploadId: uploadId,
            PartNumber: partNumber,
            CopySource: copySource(job.from.bucket, job.from.key),
            CopySourceRange: `bytes=${start}-${end}`,
            ...(pinnedEtag ? { CopySourceIfMatch: pinnedEtag } : {}),
          }),
          signal,
        );
        parts.push({ PartNumber: partNumber, ETag: output.CopyPartResult?.ETag });
      } catch (error) {
        if (s3ErrorName(error) === "PreconditionFailed" || s3Status(error) === 412) {
          throw new S3Failure("Conflict", "the source object changed during the copy", { cause: error });
        }
        throw error;
      }
    });
    parts.sort((a, b) => a.PartNumber! - b.PartNumber!);
    await context.send(
      new CompleteMultipartUploadCommand({
        Bucket: to.bucket,
        Key: to.key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
        ...(job.exclusive && context.conditionalPut !== false ? { IfNoneMatch: "*" } : {}),
      }),
      signal,
    );
  } catch (error) {
    // Leave no pending upload (and no stored parts) behind.
    await context.send(new AbortMultipartUploadCommand({ Bucket: to.bucket, Key: to.key, UploadId: uploadId })).catch(() => undefined);
    throw error;
  }
}

/** Runs `worker` over `items` with at most `limit` in flight; the first failure stops new work. */
async function eachLimit<T>(items: readonly T[], limit: number, worker: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const run = async () => {
    while (!failed && next < items.length) {
      try {
        await worker(items[next++]!);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, run));
  const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failure) throw failure.reason;
}
