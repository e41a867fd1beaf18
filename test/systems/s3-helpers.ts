/** Shared by the s3 tests: outside eyes (a raw S3Client built here, not through Stowage). */
import { randomBytes } from "node:crypto";
import { ListMultipartUploadsCommand, S3Client } from "@aws-sdk/client-s3";
import { isStowageError } from "../../src/errors.js";
import type { Entry } from "../../src/systems/contract.js";

export const MiB = 1 << 20;

/** A bucket name no other test file uses. */
export function uniqueBucket(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

/** A plain SDK client for the test server, configured the way its docs say for S3-compatible servers. */
export function rawClient(): S3Client {
  const endpoint = process.env.AWS_ENDPOINT_URL;
  if (!endpoint) throw new Error("AWS_ENDPOINT_URL is not set: run with STOWAGE_TEST_SYSTEMS=s3");
  return new S3Client({
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

/** The code of the StowageError `promise` rejects with; fails on success or on any other error. */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (error === undefined) throw new Error("expected a rejection");
  if (!isStowageError(error)) throw new Error(`not a StowageError: ${String(error)}`, { cause: error });
  return error.code;
}

export async function collect(entries: AsyncIterable<Entry>): Promise<Entry[]> {
  const out: Entry[] = [];
  for await (const entry of entries) out.push(entry);
  return out;
}

/** Multipart uploads started and neither completed nor aborted, below `prefix`. */
export async function pendingUploads(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const { Uploads: uploads = [] } = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
  return uploads.map((upload) => upload.Key ?? "");
}
