/**
 * Builds the S3 client the AWS way: credentials, region and endpoint come from the SDK's own chain
 * (env, AWS_PROFILE, shared config/credentials files, SSO, IMDS...), so a working AWS setup needs
 * nothing of Stowage's. Stowage's config adds only what AWS conventions leave open: an endpoint,
 * path-style addressing, and tuning.
 */
import { createHash } from "node:crypto";
import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import { credential, type Credentials } from "../../credentials.js";
import { timeoutsMs, type StowageConfig } from "../../config.js";
import { sectionOf } from "../descriptor.js";
import type { S3Config } from "./index.js";
import { StowageError } from "../../errors.js";

export interface S3Settings {
  region: string;
  /** A custom endpoint (S3-compatible server), or undefined for AWS itself. */
  endpoint: string | undefined;
  pathStyle: boolean;
  profile: string | undefined;
  /** Objects larger than this are copied with UploadPartCopy, in parts of this size. */
  copyPartSize: number;
  /** Connect and idle timeouts in milliseconds. */
  timeouts: { connect: number; idle: number };
  /** Explicit credentials given with the address, instead of the AWS chain. */
  credentials?: Credentials | undefined;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** CopyObject copies at most 5 GiB in one request; it is also the largest part UploadPartCopy takes. */
export const MAX_COPY_PART_SIZE = 5 * GiB;
/** S3's smallest part (all but the last). */
export const MIN_PART_SIZE = 5 * MiB;
const DEFAULT_REGION = "us-east-1";

/** Loopback endpoints have no DNS for "<bucket>.localhost", so they need path-style URLs. */
export function isLoopbackEndpoint(endpoint: string): boolean {
  const host = new URL(endpoint).hostname.replace(/^\[(.*)\]$/, "$1");
  return host === "localhost" || host.endsWith(".localhost") || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function copyPartSizeFrom(config: StowageConfig): number {
  const size = sectionOf<S3Config>(config, "s3").copyPartSize ?? MAX_COPY_PART_SIZE;
  if (!Number.isSafeInteger(size) || size < MIN_PART_SIZE || size > MAX_COPY_PART_SIZE) {
    throw new StowageError({
      code: "InvalidInput",
      system: "s3",
      message: `s3 copyPartSize (STOWAGE_S3_COPY_PART_SIZE) must be between ${MIN_PART_SIZE} and ${MAX_COPY_PART_SIZE} bytes, got ${size}`,
    });
  }
  return size;
}

/**
 * Resolves region and endpoint the way the SDK would, so Stowage knows them too (path style and
 * checksum mode depend on the endpoint). A throwaway client reads the chain; no request is made.
 */
export async function resolveSettings(config: StowageConfig, credentials?: Credentials): Promise<S3Settings> {
  const s3 = sectionOf<S3Config>(config, "s3");
  const profile = s3.profile;
  const probe = new S3Client(profile ? { profile } : {});
  try {
    // SDK 3.1175 honours AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL and `endpoint_url` in the profile by
    // itself; asking it keeps Stowage's view identical to the client's.
    const configured = s3.endpoint ?? (probe.config.ignoreConfiguredEndpointUrls ? undefined : await probe.config.serviceConfiguredEndpoint?.());
    const region = s3.region ?? (await probe.config.region().catch(() => undefined)) ?? DEFAULT_REGION;
    const endpoint = configured || undefined;
    if (endpoint !== undefined && !URL.canParse(endpoint)) {
      throw new StowageError({ code: "InvalidInput", system: "s3", message: `S3 endpoint "${endpoint}" is not a URL` });
    }
    return {
      region,
      endpoint,
      pathStyle: s3.pathStyle ?? (endpoint !== undefined && isLoopbackEndpoint(endpoint)),
      profile,
      copyPartSize: copyPartSizeFrom(config),
      timeouts: timeoutsMs(config),
      credentials,
    };
  } finally {
    probe.destroy();
  }
}

/**
 * DeleteObjects must carry an integrity header. SDK 3.1175 sends only a CRC32 checksum; servers that
 * predate flexible checksums (Swift s3api) demand Content-MD5, and AWS accepts both.
 */
function addContentMd5ToDeleteObjects(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: unknown };
      if (context.commandName === "DeleteObjectsCommand" && request.headers && typeof request.body === "string") {
        request.headers["content-md5"] = createHash("md5").update(request.body).digest("base64");
      }
      return next(args);
    },
    { step: "build", name: "stowageContentMd5ForDeleteObjects" },
  );
}

/**
 * A body sent with Content-MD5 is signed as UNSIGNED-PAYLOAD: the server checks the MD5, and the
 * header is signed, so the SHA-256 of the payload SigV4 would add protects nothing more. Skipping
 * it saves the caller a hash per request (about a tenth of a small PUT's client CPU here).
 */
function unsignedPayloadWithContentMd5(client: S3Client): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      const headers = (args.request as { headers?: Record<string, string> }).headers;
      if (headers?.["content-md5"] !== undefined && headers["x-amz-content-sha256"] === undefined) {
        headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD";
      }
      return next(args);
    },
    { step: "build", name: "stowageUnsignedPayloadWithContentMd5" },
  );
}

/**
 * The SDK builds a new signer for every request (spreading the whole client config into its
 * options), although every one it builds is the same: its region and service come from
 * `config.signingRegion` and `config.signingName`, which the first call fixes, and each request's
 * signing region and service are passed to `sign` anyway. One signer per auth scheme serves them
 * all (keyed by what the SDK reads from the scheme, should a later SDK start to use it); a failed
 * build (no region) is tried again on the next request, as before.
 */
function reuseSigners(client: S3Client): void {
  type AuthScheme = { name?: string; signingName?: string; signingRegion?: string } | undefined;
  const config = client.config as unknown as { signer: (authScheme?: AuthScheme) => Promise<unknown> };
  const build = config.signer;
  const signers = new Map<string, Promise<unknown>>();
  config.signer = (authScheme) => {
    const key = `${authScheme?.name}/${authScheme?.signingName}/${authScheme?.signingRegion}`;
    let signer = signers.get(key);
    if (!signer) {
      signer = build(authScheme);
      signers.set(key, signer);
      signer.catch(() => signers.delete(key));
    }
    return signer;
  };
}

export function createClient(settings: S3Settings, env: NodeJS.ProcessEnv = process.env): S3Client {
  const options: S3ClientConfig = {
    region: settings.region,
    forcePathStyle: settings.pathStyle,
    // A server that stops answering fails the request (a retryable Timeout) instead of hanging it.
    requestHandler: { connectionTimeout: settings.timeouts.connect, socketTimeout: settings.timeouts.idle },
  };
  if (settings.profile) options.profile = settings.profile;
  if (settings.credentials) {
    const sessionToken = credential(settings.credentials, "sessionToken");
    options.credentials = {
      accessKeyId: credential(settings.credentials, "accessKeyId")!,
      secretAccessKey: credential(settings.credentials, "secretAccessKey")!,
      ...(sessionToken ? { sessionToken } : {}),
    };
  }
  if (settings.endpoint !== undefined) {
    options.endpoint = settings.endpoint;
    // S3-compatible servers reject (Swift: 501) or corrupt the SDK's default aws-chunked uploads with
    // trailing checksums. Checksums only where the API requires them, unless the user chose.
    if (!env.AWS_REQUEST_CHECKSUM_CALCULATION) options.requestChecksumCalculation = "WHEN_REQUIRED";
    if (!env.AWS_RESPONSE_CHECKSUM_VALIDATION) options.responseChecksumValidation = "WHEN_REQUIRED";
  }
  const client = new S3Client(options);
  addContentMd5ToDeleteObjects(client);
  unsignedPayloadWithContentMd5(client);
  reuseSigners(client);
  return client;
}
