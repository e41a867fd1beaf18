/** What every S3 operation shares: the client, the resolved settings, and what was learned so far. */
import { CreateBucketCommand, HeadBucketCommand, HeadObjectCommand, type HeadObjectCommandOutput, type S3Client } from "@aws-sdk/client-s3";
import type { S3Settings } from "./client.js";
import { S3Failure, s3ErrorName, s3Status } from "./errors.js";

/** Per-request options for `client.send`: the caller's abort signal, when there is one. */
export function sendOptions(signal: AbortSignal | undefined): { abortSignal?: AbortSignal } {
  return signal ? { abortSignal: signal } : {};
}

export function isMissing(error: unknown): boolean {
  const name = s3ErrorName(error);
  return name === "NoSuchKey" || name === "NoSuchBucket" || name === "NotFound" || s3Status(error) === 404;
}

export function isMissingBucket(error: unknown): boolean {
  return s3ErrorName(error) === "NoSuchBucket";
}

/** The server does not implement conditional PUTs (Swift s3api answers If-None-Match with 501). */
export function isNotImplemented(error: unknown): boolean {
  return s3ErrorName(error) === "NotImplemented" || s3Status(error) === 501;
}

export class S3Context {
  /**
   * Whether the server honours `If-None-Match: *` on PUT. Unknown until a conditional write is
   * tried; once a 501 is seen, `overwrite: false` falls back to HEAD-then-PUT (racy) for good.
   */
  conditionalPut: boolean | undefined;
  readonly #bucketsCreating = new Map<string, Promise<void>>();

  constructor(
    readonly client: S3Client,
    readonly settings: S3Settings,
  ) {}

  /** HeadObject, or undefined when the object (or its bucket) does not exist. */
  async headObject(bucket: string, key: string, signal?: AbortSignal): Promise<HeadObjectCommandOutput | undefined> {
    try {
      return await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), sendOptions(signal));
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  /** Creates the bucket, as rclone does on first write; concurrent writers share one request. */
  createBucket(bucket: string): Promise<void> {
    let ready = this.#bucketsCreating.get(bucket);
    if (!ready) {
      ready = this.#create(bucket);
      this.#bucketsCreating.set(bucket, ready);
      // Only concurrent callers share the request; a later NoSuchBucket (bucket deleted since) tries again.
      const forget = () => this.#bucketsCreating.delete(bucket);
      ready.then(forget, forget);
    }
    return ready;
  }

  /** Makes sure the bucket exists before a write whose body cannot be sent twice. */
  async ensureBucket(bucket: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: bucket }), sendOptions(signal));
    } catch (error) {
      if (!isMissing(error)) throw error;
      await this.createBucket(bucket);
    }
  }

  async #create(bucket: string): Promise<void> {
    const { region } = this.settings;
    try {
      await this.client.send(
        new CreateBucketCommand({
          Bucket: bucket,
          // us-east-1 is the default location and rejects being named explicitly.
          ...(region === "us-east-1" ? {} : { CreateBucketConfiguration: { LocationConstraint: region as never } }),
        }),
      );
    } catch (error) {
      const name = s3ErrorName(error);
      if (name === "BucketAlreadyOwnedByYou") return;
      if (name === "BucketAlreadyExists") {
        // Someone else's bucket, or ours on servers that answer this way: usable only if we can see it.
        await this.client.send(new HeadBucketCommand({ Bucket: bucket })).catch(() => {
          throw new S3Failure("Conflict", `bucket "${bucket}" exists and belongs to someone else`, { cause: error });
        });
        return;
      }
      throw error;
    }
  }
}
