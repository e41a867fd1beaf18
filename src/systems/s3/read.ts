/** read: GetObject with an HTTP Range; empty and past-the-end ranges give an empty stream. */
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { Readable } from "node:stream";
import { httpRange, isEmptyRange, resolveRange, sliceBytes } from "../body.js";
import type { RangedReadOptions } from "../contract.js";
import { splitBucket } from "../paths.js";
import { type S3Context } from "./context.js";
import { S3Failure, s3ErrorName, s3Status } from "./errors.js";

const empty = () => Readable.from([]);

export async function readObject(context: S3Context, path: string, options: RangedReadOptions = {}): Promise<Readable> {
  const { bucket, key } = splitBucket(path);
  if (key === "") throw new S3Failure("IsADirectory", "a bucket cannot be read");
  const { range, signal } = options;
  // HTTP cannot ask for zero bytes; confirm the object exists and answer without a GET.
  if (isEmptyRange(range)) {
    if (!(await context.headObject(bucket, key, signal))) throw new S3Failure("NotFound", "no such object");
    return empty();
  }
  try {
    const response = await context.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: httpRange(range) }), signal);
    const body = response.Body as Readable;
    if (range === undefined || response.ContentRange !== undefined) return body;
    // The server ignored the Range and sent the whole object (some do for empty objects): cut it here.
    const { start, end } = resolveRange(range, response.ContentLength ?? 0);
    return sliceBytes(body, start, end);
  } catch (error) {
    // 416: the object exists but the range starts at or past its end (or it is empty).
    if (s3ErrorName(error) === "InvalidRange" || s3Status(error) === 416) return empty();
    throw error;
  }
}
