/** Shared by the s3 tests: outside eyes (a raw S3Client built here, not through Stowage). */
import { randomBytes } from "node:crypto";
import { full, type FullSystem } from "../support/full-system.js";
import { ListMultipartUploadsCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll } from "vitest";
import { parseAddress } from "../../src/systems/addresses.js";
import { isStowageError } from "../../src/errors.js";
import type { Entry } from "../../src/systems/contract.js";
import { SystemRegistry } from "../../src/systems/registry.js";

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

/**
 * A bucket of its own for one test file, with Stowage's s3 system on it and a raw client: opened
 * before the file's tests (created up front unless `createdByTest`) and emptied and closed after.
 */
export function useTestBucket(prefix: string, options: { createdByTest?: boolean } = {}): { bucket: string; stowage: () => FullSystem; raw: () => S3Client } {
  const bucket = uniqueBucket(prefix);
  const registry = new SystemRegistry();
  let stowage: FullSystem | undefined;
  let raw: S3Client | undefined;
  beforeAll(async () => {
    stowage = full(await registry.open(parseAddress(`s3://${bucket}`)));
    raw = rawClient();
    if (!options.createdByTest) await stowage.write(`/${bucket}/.keep`, "");
  });
  afterAll(async () => {
    await stowage?.delete([`/${bucket}`], { recursive: true });
    raw?.destroy();
    await registry.closeAll();
  });
  return { bucket, stowage: () => stowage!, raw: () => raw! };
}
