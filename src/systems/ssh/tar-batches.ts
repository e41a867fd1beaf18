/**
 * The tar transport for many small files both ways: a batch of writes travels as one archive that
 * a command loop on the host unpacks beside the targets (./batch.ts), a batch of reads comes back
 * as one archive a command loop packs in the host's temp directory (./batch-read.ts).
 */
import { randomBytes } from "node:crypto";
import { StowageError } from "../../errors.js";
import type { BatchFile, BatchReads, BatchWriteOptions, BatchWrites, WriteResult } from "../contract.js";
import { normalizePath, parentPath, relativePath } from "../paths.js";
import { ARCHIVE_NAME, stagedName, stagingPath, unpack, UNPACK_LOOP } from "./batch.js";
import { pack, PACK_LOOP } from "./batch-read.js";
import { CommandLoop, CommandLoops } from "./command-loop.js";
import type { SshConnection } from "./connect.js";
import { guard } from "./guard.js";
import { commonDirectory, mkdirs, onHost, publish, readWhole, WRITE_CONCURRENCY } from "./host-files.js";
import type { OrphanSweeper } from "./leftovers.js";
import { pipelinedWrite } from "./sftp-io.js";
import { tarArchive } from "./tar.js";
import { childPath, removeTree } from "./tree.js";
import { untar } from "./untar.js";

/** Command loops of each kind per connection (each holds an exec channel; see MaxSessions). */
const LOOPS_PER_CONNECTION = 2;
const MAX_FILES = 256;
const MAX_BYTES = 16 << 20;

export class TarBatches {
  readonly #unpackers = new CommandLoops(UNPACK_LOOP, LOOPS_PER_CONNECTION);
  readonly #packers = new CommandLoops(PACK_LOOP, LOOPS_PER_CONNECTION);

  constructor(
    private readonly connection: SshConnection,
    private readonly orphans: OrphanSweeper,
  ) {}

  readonly writes: BatchWrites = { maxFiles: MAX_FILES, maxBytes: MAX_BYTES, writeMany: (files, options) => this.#writeMany(files, options) };
  readonly reads: BatchReads = { maxFiles: MAX_FILES, maxBytes: MAX_BYTES, readMany: (paths, options) => this.#readMany(paths, options) };

  async #writeMany(files: readonly BatchFile[], options: BatchWriteOptions = {}): Promise<Array<WriteResult | Error>> {
    const targets = files.map((file) => normalizePath(file.path));
    const { signal } = options;
    const overwrite = options.overwrite ?? true;
    return guard("write", commonDirectory(targets.map(parentPath)), async () => {
      signal?.throwIfAborted();
      const session = await this.connection.session();
      const sftp = session.pool.pick();
      const remotes = targets.map((target) => onHost(session, target));
      const parents = [...new Set(remotes.map(parentPath))];
      const stage = stagingPath(commonDirectory(parents), randomBytes(8).toString("hex"));
      if (stage.includes("\n"))
        throw new StowageError({
          code: "Unsupported",
          system: "ssh",
          operation: "write",
          path: stage,
          message: "batches need a staging path without newlines",
        });
      await Promise.all(parents.map((parent) => mkdirs(session.pool.pick(), parent)));
      await sftp.mkdir(stage);
      const sweeping = this.orphans.sweep(session.client, session.pool.pick(), parentPath(stage), stage);
      try {
        const handle = await sftp.open(childPath(stage, ARCHIVE_NAME), "wx");
        try {
          await pipelinedWrite(sftp, handle, tarArchive(files.map((file, index) => ({ name: stagedName(index), body: file.body }))), WRITE_CONCURRENCY, signal);
        } finally {
          await sftp.close(handle);
        }
        await unpack(await this.#unpackers.pick(session.client), stage, files.length);
        signal?.throwIfAborted();
      } catch (error) {
        await removeTree(sftp, stage).catch(() => {});
        throw error;
      }
      const outcomes = await Promise.all(
        remotes.map(async (remote, index): Promise<WriteResult | Error> => {
          const staged = childPath(stage, stagedName(index));
          const target = targets[index]!;
          try {
            await publish(session.pool.pick(), staged, remote, target, overwrite, "write");
            return { path: target, size: files[index]!.body.length };
          } catch (error) {
            await sftp.unlink(staged).catch(() => {});
            return guard.error("write", target, error);
          }
        }),
      );
      await sftp.unlink(childPath(stage, ARCHIVE_NAME)).catch(() => {});
      await sftp.rmdir(stage).catch(() => removeTree(sftp, stage).catch(() => {}));
      await sweeping;
      return outcomes;
    });
  }

  async #readMany(paths: readonly string[], options: { signal?: AbortSignal } = {}): Promise<Array<Buffer | Error>> {
    const targets = paths.map((path) => normalizePath(path));
    const dir = commonDirectory(targets.map(parentPath));
    const { signal } = options;
    return guard("read", dir, async () => {
      signal?.throwIfAborted();
      const session = await this.connection.session();
      const sftp = session.pool.pick();
      const remoteDir = onHost(session, dir);
      const names = targets.map((target) => relativePath(dir, target) ?? "");
      // A name the loop cannot carry (a newline) or an empty one is left to a read of its own.
      const packed = names.filter((name) => name !== "" && CommandLoop.fits([name]));
      if (!CommandLoop.fits([remoteDir]) || packed.length === 0) {
        throw new StowageError({
          code: "InvalidInput",
          system: "ssh",
          operation: "read",
          path: dir,
          message: "no file of this batch can be packed on the host",
        });
      }
      const archivePath = await pack(await this.#packers.pick(session.client), remoteDir, packed);
      let members: Map<string, Buffer>;
      try {
        signal?.throwIfAborted();
        members = untar(await readWhole(sftp, archivePath));
      } finally {
        await sftp.unlink(archivePath).catch(() => {});
      }
      return names.map(
        (name, index) =>
          members.get(name) ??
          new StowageError({ code: "Unexpected", system: "ssh", operation: "read", path: targets[index], message: "the host's tar did not pack this file" }),
      );
    });
  }
}
