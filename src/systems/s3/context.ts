/** What every S3 operation shares: the client, the resolved settings, and what was learned so far. */
import { CreateBucketCommand, HeadBucketCommand, HeadObjectCommand, type HeadObjectCommandOutput, type S3Client } from "@aws-sdk/client-s3";
import type { S3Settings } from "./client.js";
import { S3Failure, s3ErrorName, s3Status } from "./errors.js";

/** A resolved middleware chain: what `client.send` builds for each command before running it. */
type Handler<Output> = (command: object) => Promise<{ output: Output }>;

/** An SDK command as S3Context.send takes it; its input names the bucket (ListBuckets has none). */
export interface S3Command<Output> {
  readonly input: object;
  resolveMiddleware(stack: never, configuration: never, options: never): (args: never) => Promise<{ output: Output }>;
}

/** Chains kept per command class and bucket; a class that meets more buckets starts over. */
const MAX_HANDLERS = 256;

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
  /** Resolved chains by command class, then bucket ("" for none). */
  readonly #handlers = new Map<unknown, Map<string, Handler<unknown>>>();

  constructor(
    readonly client: S3Client,
    readonly settings: S3Settings,
  ) {}

  /**
   * `client.send`, minus the SDK's per-request middleware resolution (cloning and sorting the client's
   * and the command's middleware stacks, then building the chain: about a fifth of a small PUT's
   * client CPU). Without an abort signal, the chain resolved for the first command of a class and
   * bucket runs the later ones, which is what the SDK's own `cacheMiddleware` option does per class.
   * Per bucket because the middleware share one context object across requests: the endpoint they
   * store in it depends on the bucket (not on the key), so concurrent requests write the same values
   * there (at most a fresher identity after a credential refresh); per class alone, a request can go
   * out to another request's bucket (test/systems/s3-requests.test.ts). A signal is bound into the
   * chain it is resolved with, so a request with one goes through `client.send`.
   */
  send<Output>(command: S3Command<Output>, signal?: AbortSignal): Promise<Output> {
    if (signal) return this.client.send(command as never, { abortSignal: signal }) as Promise<Output>;
    const bucket = (command.input as { Bucket?: unknown }).Bucket;
    let byBucket = this.#handlers.get(command.constructor);
    if (!byBucket) this.#handlers.set(command.constructor, (byBucket = new Map()));
    const key = typeof bucket === "string" ? bucket : "";
    let handler = byBucket.get(key) as Handler<Output> | undefined;
    if (!handler) {
      if (byBucket.size >= MAX_HANDLERS) byBucket.clear();
      // Resolved on a command of the same class that holds nothing else: the chain's context keeps
      // the command it was resolved on, and this one's body may be a 16 MiB part buffer.
      const template = new (command.constructor as new (input: object) => S3Command<Output>)(typeof bucket === "string" ? { Bucket: bucket } : {});
      handler = (template.resolveMiddleware as (stack: unknown, configuration: unknown, options: undefined) => Handler<Output>).call(
        template,
        this.client.middlewareStack,
        this.client.config,
        undefined,
      );
      byBucket.set(key, handler);
    }
    return handler(command).then((result) => result.output);
  }

  /** HeadObject, or undefined when the object (or its bucket) does not exist. */
  async headObject(bucket: string, key: string, signal?: AbortSignal): Promise<HeadObjectCommandOutput | undefined> {
    try {
      return await this.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), signal);
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
      await this.send(new HeadBucketCommand({ Bucket: bucket }), signal);
    } catch (error) {
      // A credential scoped to a prefix (one forwarded for a copy) may not look at the bucket,
      // whose creator made sure it exists: the write itself tells what is wrong.
      if (s3Status(error) === 403) return;
      if (!isMissing(error)) throw error;
      await this.createBucket(bucket);
    }
  }

  async #create(bucket: string): Promise<void> {
    const { region } = this.settings;
    try {
      await this.send(
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
        await this.send(new HeadBucketCommand({ Bucket: bucket })).catch(() => {
          throw new S3Failure("Conflict", `bucket "${bucket}" exists and belongs to someone else`, { cause: error });
        });
        return;
      }
      throw error;
    }
  }
}
