/**
 * Google Cloud Storage: paths are "/<bucket>/<object name>", and directories are name prefixes.
 * Configured by Google's conventions (see client.ts); `config.gs` adds a project and an endpoint.
 */
import type { Address } from "../../address.js";
import type { StowageConfig } from "../../config.js";
import type { ExportedCredentials, ResumableUploads, Semantics, System, WriteResult } from "../contract.js";
import { createGuard } from "../guard.js";
import { splitBucket } from "../paths.js";
import { discardSession, resumableOffset } from "./chunked.js";
import { connect } from "./client.js";
import { deletePath } from "./delete.js";
import { gsError, mapGsError } from "./errors.js";
import { listPath, statPath } from "./objects.js";
import { openRead } from "./read.js";
import { downscopedToken } from "./scoped.js";
import { SessionClient } from "./session.js";
import { BucketKeeper, assertAbsent, upload } from "./write.js";

export function createGsSystem(address: Address, config: StowageConfig): System {
  const { storage, endpoint, emulator, project, chunkedSessions, stallMs } = connect(config, process.env, address.credentials);
  const guard = createGuard("gs", mapGsError);
  const buckets = new BucketKeeper(storage, !emulator);
  const sessions = chunkedSessions ? new SessionClient(storage, stallMs) : undefined;

  const objectAt = (operation: string, path: string) => {
    const { bucket, key } = splitBucket(path);
    if (bucket === "" || key === "") throw gsError("InvalidInput", operation, path, "a gs object path is /<bucket>/<name>");
    return { bucket, key, file: storage.bucket(bucket).file(key) };
  };

  /**
   * Where sessions are held open across chunks (chunked.ts), an upload continues from the last
   * byte GCS persisted: the saved state is the session URI, with the offset and CRC32C of what it
   * was known to hold.
   */
  const uploads: ResumableUploads | undefined = sessions && {
    offset: (path, state, options) =>
      guard("resume", path, () => {
        const { bucket, key } = objectAt("resume", path);
        return resumableOffset(sessions, `/${bucket}/${key}`, state, options.size, options.signal);
      }),
    discard: (path, state) =>
      guard("discard", path, () => {
        const { bucket, key } = objectAt("discard", path);
        return discardSession(sessions, `/${bucket}/${key}`, state);
      }),
  };

  const semantics: Semantics = {
    // An upload finalizes only when its body is complete: its last chunk, or its one request.
    atomicWrite: true,
    // GCS enforces ifGenerationMatch=0 itself. The firebase-tools emulator ignores preconditions, so
    // against an emulator `overwrite: false` is only a check before the write.
    conditionalWrite: !emulator,
    // Uploads answer with the stored object's md5Hash.
    checksums: ["md5"],
    directories: false,
    local: false,
  };

  return {
    name: "gs",
    id: `gs:${endpoint}${address.credentials ? `#${address.credentials.key}` : ""}`,
    semantics,

    stat: (path) => guard("stat", path, () => statPath(storage, path)),

    async *list(path, options = {}) {
      try {
        yield* listPath(storage, path, options);
      } catch (error) {
        throw guard.error("list", path, error);
      }
    },

    read: (path, options = {}) => guard("read", path, async () => guard.stream("read", path, await openRead(objectAt("read", path).file, options))),

    readRange: (path, range, options = {}) =>
      guard("read", path, async () => guard.stream("read", path, await openRead(objectAt("read", path).file, { ...options, range }))),

    write: (path, body, options = {}) =>
      guard("write", path, async () => {
        const { bucket, key, file } = objectAt("write", path);
        if (options.overwrite === false) await assertAbsent(file, "write", path);
        await buckets.ensure(bucket);
        const metadata = await upload(file, body, options, sessions && { storage, sessions, bucket, key });
        const result: WriteResult = { path: `/${bucket}/${key}`, size: Number(metadata.size ?? 0) };
        if (metadata.etag) result.etag = metadata.etag;
        if (typeof metadata.md5Hash === "string") result.md5 = Buffer.from(metadata.md5Hash, "base64").toString("hex");
        return result;
      }),

    async delete(paths, options = {}) {
      for (const path of paths) await guard("delete", path, () => deletePath(storage, path, options));
    },

    copy: (from, to, options = {}) =>
      guard("copy", from, async () => {
        options.signal?.throwIfAborted();
        const source = objectAt("copy", from);
        const target = objectAt("copy", to);
        if (options.overwrite === false) await assertAbsent(target.file, "copy", to);
        await buckets.ensure(target.bucket);
        // A rewrite inside GCS: the bytes never pass through this process.
        await source.file.copy(target.file, options.overwrite === false ? { preconditionOpts: { ifGenerationMatch: 0 } } : {});
      }),

    mkdir: async () => {},

    ...(uploads ? { uploads } : {}),

    /**
     * For a copy running on an SSH host: an OAuth access token downscoped to the copy's bucket,
     * prefix and access (scoped.ts), expiring within the hour, so no key file ever leaves this
     * machine; where it cannot be downscoped, this process's own token, and why. An emulator takes
     * no credentials: only its address goes.
     */
    async exportCredentials(scope): Promise<ExportedCredentials | undefined> {
      const projectEnv: Record<string, string> = project ? { GOOGLE_CLOUD_PROJECT: project } : {};
      if (emulator) {
        return { env: { STORAGE_EMULATOR_HOST: endpoint, ...projectEnv }, scoped: false, reason: "the storage emulator takes no credentials to narrow" };
      }
      return guard("exportCredentials", scope.path, async () => {
        const minted = await downscopedToken(await storage.authClient.getClient(), scope);
        if ("token" in minted) {
          // A token for a prefix cannot create the bucket: this process does, with its own.
          if (scope.access === "write") await buckets.ensure(splitBucket(scope.path).bucket);
          const env = { STOWAGE_GS_ACCESS_TOKEN: minted.token, ...projectEnv };
          return { env, scoped: true, ...(minted.expiresAt ? { expiresAt: minted.expiresAt } : {}) };
        }
        const token = await storage.authClient.getAccessToken();
        return token ? { env: { STOWAGE_GS_ACCESS_TOKEN: token, ...projectEnv }, scoped: false, reason: minted.reason } : undefined;
      });
    },

    close: async () => {},
  };
}
