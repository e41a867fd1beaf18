/**
 * The s3 system: AWS S3 and S3-compatible servers through @aws-sdk/client-s3.
 * Paths are "/bucket/key"; "directories" are key prefixes. See client.ts for how the client is
 * configured from the AWS chain, and each operation's module for its S3 specifics.
 */
import type { Readable } from "node:stream";
import type { Address } from "../../address.js";
import type { StowageConfig } from "../../config.js";
import type {
  ByteRange,
  Semantics,
  CopyOptions,
  CredentialScope,
  DeleteOptions,
  Entry,
  ExportedCredentials,
  ListOptions,
  ReadOptions,
  ResumableUploads,
  Stat,
  System,
  UploadState,
  WriteBody,
  WriteOptions,
  WriteResult,
} from "../contract.js";
import { createGuard } from "../guard.js";
import { normalizePath, splitBucket } from "../paths.js";
import { createClient, resolveSettings, type S3Settings } from "./client.js";
import { S3Context } from "./context.js";
import { copyObject } from "./copy.js";
import { deletePaths } from "./delete.js";
import { mapS3Error } from "./errors.js";
import { listPath } from "./list.js";
import { readObject } from "./read.js";
import { discardUpload, resumableOffset } from "./resume.js";
import { mintScoped } from "./scoped.js";
import { statPath } from "./stat.js";
import { writeObject } from "./write.js";

const SEMANTICS: Semantics = {
  // A PutObject or a completed multipart upload becomes visible whole.
  atomicWrite: true,
  // If-None-Match is not honoured by every S3-compatible server (Swift: 501), so not guaranteed.
  conditionalWrite: false,
  // The ETag of a single-request upload is its MD5.
  checksums: ["md5"],
  directories: false,
  local: false,
};

const guard = createGuard("s3", mapS3Error);

export class S3System implements System {
  readonly name = "s3" as const;
  readonly id: string;
  readonly semantics = SEMANTICS;
  readonly #context: S3Context;
  /** Multipart uploads continue from the parts the server still holds (resume.ts). */
  readonly uploads: ResumableUploads = {
    offset: (path: string, state: UploadState, options: { size: number; signal?: AbortSignal }) => {
      const target = normalizePath(path);
      return guard("resume", target, () => resumableOffset(this.#context, target, state, options.size, options.signal));
    },
    discard: (path: string, state: UploadState) => {
      const target = normalizePath(path);
      return guard("discard", target, () => discardUpload(this.#context, target, state));
    },
  };

  constructor(settings: S3Settings) {
    this.#context = new S3Context(createClient(settings), settings);
    const where = settings.endpoint ?? `aws:${settings.region}`;
    const credentials = settings.credentials ? `#${settings.credentials.key}` : "";
    this.id = `s3:${settings.profile ? `${settings.profile}@` : ""}${where}${credentials}`;
  }

  stat(path: string, options: { signal?: AbortSignal } = {}): Promise<Stat> {
    const target = normalizePath(path);
    return guard("stat", target, () => statPath(this.#context, target, options.signal));
  }

  async *list(path: string, options: ListOptions = {}): AsyncIterable<Entry> {
    const target = normalizePath(path);
    const entries = listPath(this.#context, target, options);
    for (;;) {
      const next = await guard("list", target, () => entries.next());
      if (next.done) return;
      yield next.value;
    }
  }

  read(path: string, options: ReadOptions = {}): Promise<Readable> {
    const target = normalizePath(path);
    return guard("read", target, async () => guard.stream("read", target, await readObject(this.#context, target, options)));
  }

  readRange(path: string, range: ByteRange, options: ReadOptions = {}): Promise<Readable> {
    const target = normalizePath(path);
    return guard("read", target, async () => guard.stream("read", target, await readObject(this.#context, target, { ...options, range })));
  }

  write(path: string, body: WriteBody, options: WriteOptions = {}): Promise<WriteResult> {
    const target = normalizePath(path);
    return guard("write", target, () => writeObject(this.#context, target, body, options));
  }

  delete(paths: readonly string[], options: DeleteOptions = {}): Promise<void> {
    const targets = paths.map((path) => normalizePath(path));
    return guard("delete", targets.length === 1 ? targets[0] : undefined, () => deletePaths(this.#context, targets, options));
  }

  copy(from: string, to: string, options: CopyOptions = {}): Promise<void> {
    const source = normalizePath(from);
    const target = normalizePath(to);
    return guard("copy", source, () => copyObject(this.#context, source, target, options));
  }

  /** Directories are key prefixes: they exist once an object is written below them. */
  async mkdir(path: string): Promise<void> {
    normalizePath(path);
  }

  /**
   * For a copy running on an SSH host: credentials STS mints from this process's for that one
   * copy (scoped.ts: its bucket and prefix, its actions, its lifetime), with the region and
   * endpoint this process uses. Where STS cannot, the credentials this process resolved from the
   * AWS chain (session credentials stay session credentials), and the reason.
   */
  exportCredentials(scope: CredentialScope): Promise<ExportedCredentials> {
    const target = normalizePath(scope.path);
    return guard("exportCredentials", target, async () => {
      const { client, settings } = this.#context;
      const own = await client.config.credentials();
      const minted = await mintScoped(settings, own, { ...scope, path: target });
      const key = "key" in minted ? minted.key : own;
      const env: Record<string, string> = {
        AWS_ACCESS_KEY_ID: key.accessKeyId,
        AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
        AWS_REGION: settings.region,
      };
      if (key.sessionToken) env.AWS_SESSION_TOKEN = key.sessionToken;
      if (settings.endpoint) env.AWS_ENDPOINT_URL_S3 = settings.endpoint;
      env.STOWAGE_S3_PATH_STYLE = settings.pathStyle ? "1" : "0";
      if ("reason" in minted) return { env, scoped: false, reason: minted.reason };
      // A credential for a prefix cannot create the bucket: this process does, with its own.
      if (scope.access === "write") await this.#context.ensureBucket(splitBucket(target).bucket);
      return { env, scoped: true, expiresAt: minted.expiresAt };
    });
  }

  async close(): Promise<void> {
    this.#context.client.destroy();
  }
}

export async function createS3System(address: Address, config: StowageConfig): Promise<System> {
  return guard("open", undefined, async () => new S3System(await resolveSettings(config, address.credentials)));
}
