/**
 * Azure Blob Storage. Paths are "/<container>/<blob name>"; "directories" are name prefixes ending
 * in "/". Containers are created on first write, as rclone does.
 */
import { Readable } from "node:stream";
import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  BlobSASPermissions,
  ContainerSASPermissions,
  generateBlobSASQueryParameters,
  type BlobItem,
  type BlobServiceClient,
  type BlockBlobClient,
  type ContainerClient,
} from "@azure/storage-blob";
import { StowageError, type ErrorCode } from "../../errors.js";
import { bytesOf, isBytes, resolveRange, validateRange } from "../body.js";
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
  UploadCheckpoint,
  UploadState,
  WriteBody,
  WriteOptions,
  WriteResult,
} from "../contract.js";
import { createGuard } from "../guard.js";
import { normalizePath, prefixOf, splitBucket } from "../paths.js";
import type { Address } from "../../address.js";
import type { StowageConfig } from "../../config.js";
import { connectAzure, type AzureAuth, type AzureConnection } from "./credentials.js";
import { mapAzureError } from "./errors.js";
import { BlobDeleteError, BATCH_LIMIT, deleteBlobs } from "./remove.js";
import { parseBlockState, reusableBlocks } from "./blocks.js";
import { SINGLE_PUT_LIMIT, uploadBody, uploadBytes, type Uploaded, type UploadOptions } from "./upload.js";

const SEMANTICS: Semantics = {
  atomicWrite: true,
  // `If-None-Match: *` is honoured by Put Blob and by Put Block List (checked in the tests).
  conditionalWrite: true,
  // Put Blob answers with the Content-MD5 of what it stored.
  checksums: ["md5"],
  directories: false,
  local: false,
};

/** Copy Blob From URL (synchronous) takes sources up to 256 MiB; larger ones use the async copy. */
const SYNC_COPY_LIMIT = 256 * 1024 * 1024;
/** How often a running asynchronous copy is polled (the SDK's default is 15 s). */
const COPY_POLL_INTERVAL_MS = 2_000;
/** Lifetime of the read-only SAS that lets the service fetch a copy source. */
const COPY_SAS_LIFETIME_MS = 60 * 60 * 1000;
/** A forwarded SAS starts this long before now, so a host whose clock is behind can use it at once. */
const SAS_CLOCK_SKEW_MS = 5 * 60 * 1000;

/**
 * The permissions of a SAS for one copy's end, in Azure's letters: read and list a source; create
 * and write blobs of a destination (Put Blob, Put Block, Put Block List), with list and delete only
 * when the copy lists or deletes there.
 */
export function sasPermissions(scope: CredentialScope): string {
  if (scope.access === "read") return "rl";
  return `cw${scope.list ? "l" : ""}${scope.delete ? "d" : ""}`;
}

const guard = createGuard("azure", mapAzureError);

/** An error of our own, with the context the guard would add to a provider error. */
function fail(code: ErrorCode, operation: string, path: string, message: string): StowageError {
  return new StowageError({ code, system: "azure", operation, path, message });
}

const stripQuotes = (etag: string | undefined) => etag?.replace(/^"(.*)"$/, "$1");
const isNotFound = (error: unknown) => mapAzureError(error)?.code === "NotFound";
const isContainerMissing = (error: unknown) => (error as { code?: string } | null)?.code === "ContainerNotFound";
const signalOption = (signal: AbortSignal | undefined) => (signal ? { abortSignal: signal } : {});
/** Azure answers at most 5,000 entries per list request and refuses to be asked for more. */
const pageOption = (pageSize: number | undefined) => (pageSize ? { maxPageSize: Math.min(pageSize, 5_000) } : {});

function emptyStream(): Readable {
  return Readable.from([], { objectMode: false });
}

export class AzureSystem implements System {
  readonly name = "azure" as const;
  readonly id: string;
  readonly semantics = SEMANTICS;
  readonly #service: BlobServiceClient;
  readonly #auth: AzureAuth;
  readonly #account: string;
  /** Containers this process created or wrote to, so stream writes skip the existence check. */
  readonly #knownContainers = new Set<string>();
  /**
   * Stream uploads continue from the blocks Azure still holds uncommitted (blocks.ts). There is no
   * call to delete uncommitted blocks: Azure drops them after a week or at the blob's next commit.
   */
  readonly uploads: ResumableUploads = {
    offset: (path: string, state: UploadState, options: { size: number; signal?: AbortSignal }) => {
      const target = normalizePath(path);
      return guard("resume", target, async () => {
        const upload = parseBlockState(target, state);
        if (!upload) return 0;
        try {
          return (await reusableBlocks(this.#blobClient(target, "resume"), upload, options.size, options.signal)) * upload.blockSize;
        } catch (error) {
          // A SAS that may write but not read (one forwarded for a copy) cannot see the blocks: start afresh.
          if (mapAzureError(error)?.code === "PermissionDenied") return 0;
          throw error;
        }
      });
    },
    discard: async () => undefined,
  };

  /** `credentialsKey` tells apart connections made with different explicit credentials. */
  constructor(connection: AzureConnection, credentialsKey?: string) {
    this.#service = connection.service;
    this.#auth = connection.auth;
    this.#account = connection.account;
    this.id = `azure:${connection.account}@${new URL(connection.service.url).host}${credentialsKey ? `#${credentialsKey}` : ""}`;
  }

  stat(path: string, options: { signal?: AbortSignal } = {}): Promise<Stat> {
    const target = normalizePath(path);
    return guard("stat", target, async () => {
      const { bucket: container, key } = splitBucket(target);
      if (!container) return { path: "/", type: "directory", size: 0 };
      const containerClient = this.#service.getContainerClient(container);
      if (!key) {
        const properties = await containerClient.getProperties(signalOption(options.signal));
        return { path: target, type: "directory", size: 0, ...(properties.lastModified ? { mtime: properties.lastModified } : {}) };
      }
      try {
        const properties = await containerClient.getBlobClient(key).getProperties(signalOption(options.signal));
        return fileStat(target, properties.contentLength, properties.lastModified, properties.etag, properties.contentMD5);
      } catch (error) {
        if (!isNotFound(error)) throw error;
        if (await this.#hasBlobsBelow(containerClient, key, options.signal)) return { path: target, type: "directory", size: 0 };
        throw error;
      }
    });
  }

  async #hasBlobsBelow(container: ContainerClient, key: string, signal: AbortSignal | undefined): Promise<boolean> {
    try {
      const pages = container.listBlobsFlat({ prefix: prefixOf(key), ...signalOption(signal) }).byPage({ maxPageSize: 1 });
      const first = await pages.next();
      return !first.done && first.value.segment.blobItems.length > 0;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async *list(path: string, options: ListOptions = {}): AsyncIterable<Entry> {
    const root = normalizePath(path);
    const { bucket: container, key } = splitBucket(root);
    if (!container) {
      yield* this.#listContainers(options);
      return;
    }
    const containerClient = this.#service.getContainerClient(container);
    const prefix = prefixOf(key);
    const pageOptions = pageOption(options.pageSize);
    const listOptions = { prefix, ...signalOption(options.signal) };
    try {
      if (options.recursive) {
        for await (const page of containerClient.listBlobsFlat(listOptions).byPage(pageOptions)) {
          yield* blobEntries(container, page.segment.blobItems);
        }
        return;
      }
      for await (const page of containerClient.listBlobsByHierarchy("/", listOptions).byPage(pageOptions)) {
        for (const item of page.segment.blobPrefixes ?? []) {
          yield { path: `/${container}/${item.name.replace(/\/+$/, "")}`, type: "directory", size: 0 };
        }
        yield* blobEntries(container, page.segment.blobItems);
      }
    } catch (error) {
      // A missing container lists as empty, like a missing directory.
      if (isNotFound(error)) return;
      throw guard.error("list", root, error);
    }
  }

  /** Containers are the directories of "/"; a recursive walk lists every container's blobs. */
  async *#listContainers(options: ListOptions): AsyncIterable<Entry> {
    const pages = this.#service.listContainers(signalOption(options.signal)).byPage(pageOption(options.pageSize));
    const names: string[] = [];
    try {
      for await (const page of pages) {
        for (const item of page.containerItems) {
          if (options.recursive) names.push(item.name);
          else yield { path: `/${item.name}`, type: "directory", size: 0, mtime: item.properties.lastModified };
        }
      }
    } catch (error) {
      throw guard.error("list", "/", error);
    }
    for (const name of names) yield* this.list(`/${name}`, options);
  }

  read(path: string, options: ReadOptions = {}): Promise<Readable> {
    return this.readRange(path, undefined, options);
  }

  readRange(path: string, range: ByteRange | undefined, options: ReadOptions = {}): Promise<Readable> {
    const target = normalizePath(path);
    return guard("read", target, async () => {
      const blob = this.#blobClient(target, "read");
      const { signal } = options;
      const requestOptions = { maxRetryRequests: 5, ...signalOption(signal) };
      if (range) validateRange(range);
      let offset = 0;
      let count: number | undefined;
      if (range && "suffix" in range) {
        // Azure ranges have no "last N bytes" form: the size comes first.
        const { contentLength = 0 } = await blob.getProperties(signalOption(signal));
        const { start, end } = resolveRange(range, contentLength);
        if (end <= start) return emptyStream();
        [offset, count] = [start, end - start];
      } else if (range) {
        if (range.length === 0) {
          await blob.getProperties(signalOption(signal)); // only to report NotFound
          return emptyStream();
        }
        [offset, count] = [range.offset, range.length];
      }
      try {
        const response = await blob.download(offset, count, requestOptions);
        return guard.stream("read", target, response.readableStreamBody as Readable);
      } catch (error) {
        // 416: the range starts at or past the end (or the blob is empty); clamped, that is no bytes.
        if ((error as { statusCode?: number }).statusCode !== 416) throw error;
        await blob.getProperties(signalOption(signal));
        return emptyStream();
      }
    });
  }

  write(path: string, body: WriteBody, options: WriteOptions = {}): Promise<WriteResult> {
    const target = normalizePath(path);
    return guard("write", target, async () => {
      options.signal?.throwIfAborted();
      const blob = this.#blobClient(target, "write");
      const container = splitBucket(target).bucket;
      const upload: UploadOptions = {
        size: options.size,
        blockSize: options.partSize,
        concurrency: options.concurrency,
        conditions: options.overwrite === false ? { ifNoneMatch: "*" } : undefined,
        contentType: options.contentType,
        signal: options.signal,
      };
      const refuseExisting = options.overwrite === false;
      if (isBytes(body) && options.checkpoint?.resume) body = Readable.from([bytesOf(body)]);
      if (isBytes(body)) {
        const bytes = bytesOf(body);
        if (refuseExisting && bytes.length > SINGLE_PUT_LIMIT) await this.#refuseIfExists(blob, target, options.signal);
        const result = await this.#inContainer(container, () => uploadBytes(blob, bytes, upload));
        return writeResult(target, result);
      }
      if (refuseExisting) await this.#refuseIfExists(blob, target, options.signal);
      const { checkpoint } = options;
      const resume = checkpoint?.resume ? await this.#resumable(blob, target, checkpoint.resume, options.signal) : undefined;
      // A stream cannot be sent twice, so the container must exist before the first block.
      await this.#ensureContainer(container, options.signal);
      try {
        const result = await uploadBody(blob, body, upload, { path: target, resume, save: checkpoint?.save });
        return writeResult(target, result);
      } catch (error) {
        if (isContainerMissing(error)) this.#knownContainers.delete(container);
        throw error;
      }
    });
  }

  /**
   * The staged upload a checkpoint continues. Blocks lost since its offset was taken make a
   * retryable Conflict: the next attempt asks for the offset again.
   */
  async #resumable(blob: BlockBlobClient, target: string, resume: NonNullable<UploadCheckpoint["resume"]>, signal: AbortSignal | undefined) {
    const upload = parseBlockState(target, resume.state);
    if (!upload) throw fail("InvalidInput", "write", target, "the upload to resume is not an Azure block upload of this blob");
    const held = (await reusableBlocks(blob, upload, resume.offset + 1, signal)) * upload.blockSize;
    if (held !== resume.offset) {
      throw new StowageError({
        code: "Conflict",
        retryable: true,
        system: "azure",
        operation: "write",
        path: target,
        message: `the upload to resume holds ${held} bytes, not ${resume.offset}`,
      });
    }
    return { upload, offset: resume.offset };
  }

  /**
   * Put Block List checks `If-None-Match` only after every block is sent, so a multi-block write
   * that must not replace anything looks first. The commit's condition still decides a race.
   */
  async #refuseIfExists(blob: BlockBlobClient, target: string, signal: AbortSignal | undefined): Promise<void> {
    const exists = await blob.exists(signalOption(signal)).catch((error: unknown) => {
      // A SAS that may write but not read cannot look: the commit's condition still refuses.
      if (mapAzureError(error)?.code === "PermissionDenied") return false;
      throw error;
    });
    if (exists) throw fail("AlreadyExists", "write", target, "the blob exists and overwrite is false");
  }

  /** Runs `operation`; if the container is missing, creates it and runs `operation` once more. */
  async #inContainer<T>(container: string, operation: () => Promise<T>): Promise<T> {
    try {
      const result = await operation();
      this.#knownContainers.add(container);
      return result;
    } catch (error) {
      if (!isContainerMissing(error)) throw error;
      await this.#service.getContainerClient(container).createIfNotExists();
      this.#knownContainers.add(container);
      return operation();
    }
  }

  async #ensureContainer(container: string, signal: AbortSignal | undefined): Promise<void> {
    if (this.#knownContainers.has(container)) return;
    try {
      await this.#service.getContainerClient(container).createIfNotExists(signalOption(signal));
    } catch (error) {
      // A SAS or role scoped to blobs may not create containers; then the write itself will tell.
      if (mapAzureError(error)?.code !== "PermissionDenied") throw error;
    }
    this.#knownContainers.add(container);
  }

  delete(paths: readonly string[], options: DeleteOptions = {}): Promise<void> {
    const targets = paths.map((path) => normalizePath(path));
    return guard("delete", targets.length === 1 ? targets[0] : undefined, async () => {
      for (const target of targets) {
        options.signal?.throwIfAborted();
        const { bucket: container, key } = splitBucket(target);
        if (!container) {
          throw fail("InvalidInput", "delete", target, "refusing to delete the whole storage account");
        }
        const containerClient = this.#service.getContainerClient(container);
        if (!key) {
          // A container is the top directory: only a recursive delete removes it (with its blobs).
          if (options.recursive) {
            await containerClient.deleteIfExists(signalOption(options.signal));
            this.#knownContainers.delete(container);
          }
          continue;
        }
        await this.#deleteKeys(container, [key], options.signal);
        if (options.recursive) await this.#deleteBelow(containerClient, key, options.signal);
      }
    });
  }

  async #deleteBelow(container: ContainerClient, key: string, signal: AbortSignal | undefined): Promise<void> {
    const pages = container.listBlobsFlat({ prefix: prefixOf(key), ...signalOption(signal) }).byPage({ maxPageSize: BATCH_LIMIT });
    try {
      for await (const page of pages) {
        await this.#deleteKeys(
          container.containerName,
          page.segment.blobItems.map((item) => item.name),
          signal,
        );
      }
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async #deleteKeys(container: string, keys: readonly string[], signal: AbortSignal | undefined): Promise<void> {
    try {
      const containerClient = this.#service.getContainerClient(container);
      await deleteBlobs(this.#auth === "sas" ? containerClient : this.#service, containerClient, keys, signal);
    } catch (error) {
      if (error instanceof BlobDeleteError) throw guard.error("delete", `/${container}/${error.key}`, error.cause);
      throw error;
    }
  }

  copy(from: string, to: string, options: CopyOptions = {}): Promise<void> {
    const source = normalizePath(from);
    const target = normalizePath(to);
    return guard("copy", source, async () => {
      const sourceBlob = this.#blobClient(source, "copy");
      const targetBlob = this.#blobClient(target, "copy");
      const { signal } = options;
      let size: number;
      try {
        size = (await sourceBlob.getProperties(signalOption(signal))).contentLength ?? 0;
      } catch (error) {
        if (isNotFound(error) && (await this.#isPrefix(source, signal))) {
          throw fail("IsADirectory", "copy", source, "copy takes a single blob, not a prefix");
        }
        throw error;
      }
      const sourceUrl = await this.#authorizedUrl(sourceBlob);
      const copyOptions = { ...(options.overwrite === false ? { conditions: { ifNoneMatch: "*" } } : {}), ...signalOption(signal) };
      // Failures from here on concern the target, so they name it.
      await guard("copy", target, () =>
        this.#inContainer(splitBucket(target).bucket, async () => {
          if (this.#auth !== "token" && size <= SYNC_COPY_LIMIT) {
            await targetBlob.syncCopyFromURL(sourceUrl, copyOptions);
            return;
          }
          const poller = await targetBlob.beginCopyFromURL(sourceUrl, { ...copyOptions, intervalInMs: COPY_POLL_INTERVAL_MS });
          const result = await poller.pollUntilDone();
          if (result.copyStatus !== "success") {
            throw fail("Unexpected", "copy", target, `copy ended with status ${result.copyStatus ?? "unknown"}`);
          }
        }),
      );
    });
  }

  /** A URL the service may read the source from: with a short-lived SAS when we hold the key. */
  #authorizedUrl(blob: BlockBlobClient): Promise<string> {
    if (this.#auth !== "sharedKey") return Promise.resolve(blob.url);
    return blob.generateSasUrl({ permissions: BlobSASPermissions.parse("r"), expiresOn: new Date(Date.now() + COPY_SAS_LIFETIME_MS) });
  }

  async #isPrefix(path: string, signal: AbortSignal | undefined): Promise<boolean> {
    const { bucket, key } = splitBucket(path);
    return this.#hasBlobsBelow(this.#service.getContainerClient(bucket), key, signal);
  }

  /** The client for a blob path; a path without a blob name is a container or the account. */
  #blobClient(path: string, operation: string): BlockBlobClient {
    const { bucket: container, key } = splitBucket(path);
    if (!key) {
      throw fail(container ? "IsADirectory" : "InvalidInput", operation, path, "not a blob path: /<container>/<name>");
    }
    return this.#service.getContainerClient(container).getBlockBlobClient(key);
  }

  mkdir(path: string): Promise<void> {
    // Prefixes exist only through the blobs below them; containers are made on first write.
    return guard("mkdir", path, async () => void normalizePath(path));
  }

  /**
   * For a copy running on an SSH host: a connection string with a service SAS for the one
   * container, with only the permissions the copy needs, expiring after its lifetime, so neither
   * the account key nor a login leaves this machine. Signed with the account key, or with a user
   * delegation key under an Azure AD login. A SAS cannot be narrower than a container (directory
   * SAS needs a hierarchical namespace), nor can a SAS the caller was given be narrowed: that one
   * goes as it is.
   */
  exportCredentials(scope: CredentialScope): Promise<ExportedCredentials | undefined> {
    const target = normalizePath(scope.path);
    return guard("exportCredentials", target, async () => {
      const endpoint = this.#service.url.split("?")[0]!.replace(/\/+$/, "");
      const env = (sas: string) => ({ AZURE_STORAGE_CONNECTION_STRING: `BlobEndpoint=${endpoint};SharedAccessSignature=${sas}` });
      if (this.#auth === "sas") {
        const reason = "the SAS this process was given is forwarded as it is: a SAS cannot sign a narrower one";
        return { env: env(new URL(this.#service.url).search.slice(1)), scoped: false, reason };
      }
      const container = splitBucket(target).bucket;
      const startsOn = new Date(Date.now() - SAS_CLOCK_SKEW_MS);
      // Whole seconds, as the SAS carries it.
      const expiresOn = new Date(Math.floor((Date.now() + scope.lifetimeMs) / 1000) * 1000);
      if (!container) {
        // The account root: a copy across every container needs an account SAS.
        if (this.#auth !== "sharedKey") return undefined;
        const permissions = AccountSASPermissions.parse(scope.access === "read" ? "rl" : "rwdlac");
        const url = this.#service.generateAccountSasUrl(expiresOn, permissions, AccountSASResourceTypes.parse("sco").toString());
        return { env: env(new URL(url).search.slice(1)), scoped: false, reason: "the copy spans every container of the account", expiresAt: expiresOn };
      }
      // A SAS for one container cannot create it: the caller does, with its own credential.
      if (scope.access === "write") await this.#ensureContainer(container, undefined);
      const permissions = ContainerSASPermissions.parse(sasPermissions(scope));
      const containerClient = this.#service.getContainerClient(container);
      let sas: string;
      if (this.#auth === "sharedKey") {
        sas = new URL(await containerClient.generateSasUrl({ permissions, startsOn, expiresOn })).search.slice(1);
      } else {
        // Azure AD: a user delegation key, valid as long as the SAS, signs it. A login without the
        // right to ask for one cannot be forwarded: the copy streams through this process.
        const key = await this.#service.getUserDelegationKey(startsOn, expiresOn).catch(() => undefined);
        if (!key) return undefined;
        sas = generateBlobSASQueryParameters({ containerName: container, permissions, startsOn, expiresOn }, key, this.#account).toString();
      }
      return { env: env(sas), scoped: true, expiresAt: expiresOn };
    });
  }

  async close(): Promise<void> {
    // The SDK's HTTP agent is shared and keeps no per-client sockets to release.
  }
}

function writeResult(path: string, uploaded: Uploaded): WriteResult {
  const result: WriteResult = { path, size: uploaded.size };
  if (uploaded.etag) result.etag = stripQuotes(uploaded.etag)!;
  if (uploaded.md5) result.md5 = uploaded.md5;
  return result;
}

function fileStat(path: string, size = 0, mtime?: Date, etag?: string, contentMD5?: Uint8Array): Stat {
  const stat: Stat = { path, type: "file", size };
  if (mtime) stat.mtime = mtime;
  if (etag) stat.etag = stripQuotes(etag)!;
  if (contentMD5 && contentMD5.length > 0) stat.md5 = Buffer.from(contentMD5).toString("hex");
  return stat;
}

function* blobEntries(container: string, items: readonly BlobItem[]): Iterable<Entry> {
  for (const item of items) {
    // A name ending in "/" is a folder placeholder made by other tools, not a file.
    if (item.name.endsWith("/")) continue;
    const { contentLength, lastModified, etag, contentMD5 } = item.properties;
    yield fileStat(`/${container}/${item.name}`, contentLength ?? 0, lastModified, etag, contentMD5);
  }
}

export async function createAzureSystem(address: Address, config: StowageConfig): Promise<AzureSystem> {
  return new AzureSystem(await connectAzure(address, config), address.credentials?.key);
}
