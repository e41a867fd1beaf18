/**
 * A remote host over SSH: files through SFTP, commands through exec, on one SSH connection per host.
 * Writes go to a hidden part file beside the target and are renamed into place, so readers see the
 * old file or the new one, never half of it. Large streams fill the part file through `cat` on an
 * exec channel where the host has a POSIX shell; everything else is written over SFTP.
 */
import { randomBytes } from "node:crypto";
import { addAbortSignal, Readable } from "node:stream";
import type { Stats } from "ssh2";
import type { Address } from "../../address.js";
import type { StowageConfig } from "../../config.js";
import { StowageError } from "../../errors.js";
import { bytesOf, isBytes, readAll, resolveRange, toReadable } from "../body.js";
import type {
  BatchFile,
  BatchWriteOptions,
  BatchReads,
  BatchWrites,
  ByteRange,
  Semantics,
  CopyOptions,
  DeleteOptions,
  Entry,
  ExecOptions,
  ExecResult,
  ListOptions,
  RangeWriter,
  RangeWriterOptions,
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
import { createGuard, worthKeeping } from "../guard.js";
import { anyPartOf, PART_SUFFIX, partialState, partOf, partRangeWriter, resumableBytes, resumedRangesPart } from "../partial.js";
import { baseName, normalizePath, parentPath, relativePath } from "../paths.js";
import { SshConnection, type Session } from "./connect.js";
import { mapSshError, SFTP_STATUS } from "./errors.js";
import { ARCHIVE_NAME, stagedName, stagingPath, unpack, UNPACK_LOOP } from "./batch.js";
import { pack, PACK_LOOP } from "./batch-read.js";
import { CommandLoop, CommandLoops } from "./command-loop.js";
import { OrphanSweeper } from "./leftovers.js";
import { DD_BLOCK, runCommand, shellQuote } from "./exec.js";
import { catInto, startCat, startRangeWrite } from "./exec-upload.js";
import { catReader, startCatDownload } from "./exec-download.js";
import { resolveSettings } from "./settings.js";
import { isStatus, pipelinedReader, pipelinedWrite, type SftpClient } from "./sftp-io.js";
import { tarArchive } from "./tar.js";
import { untar } from "./untar.js";
import { childPath, ignoreMissing, readdirBatches, removeTree, resolveEntry, walkFiles } from "./tree.js";

const SEMANTICS: Semantics = {
  atomicWrite: true,
  // OpenSSH's plain SFTP rename links the part file to the target, and link(2) fails if it exists.
  conditionalWrite: true,
  checksums: [],
  directories: true,
  local: false,
};

/** SFTP write requests in flight per write (each up to 255 KiB). */
const WRITE_CONCURRENCY = 16;
/** Streams at least this large (or of unknown size) go through `cat` where the host has it. */
const CAT_UPLOAD_MIN_BYTES = 8 << 20;
/** Uploads and downloads through `cat` at once per connection; with the SFTP channels they stay within MaxSessions (10). */
const CAT_CHANNELS_PER_CONNECTION = 4;
/** Whole-file reads at least this large come through `cat` where the host has it. */
const CAT_DOWNLOAD_MIN_BYTES = 8 << 20;
/** SFTP read requests in flight per read stream. */
const READ_CONCURRENCY = 16;
/** Command loops of each kind per connection (each holds an exec channel; see MaxSessions). */
const LOOPS_PER_CONNECTION = 2;
/**
 * Copies on the host, a source and a target line per request (./command-loop.ts); cp's message
 * comes back on the answer's line. Globbing is off so the message is printed as it is.
 */
const COPY_LOOP = `set -f; while IFS= read -r from && IFS= read -r to; do if out=$(cp -- "$from" "$to" 2>&1); then echo 0; else printf '%s %s\\n' "$?" "$(echo $out)"; fi; done`;

const guard = createGuard("ssh", mapSshError);

function toStat(path: string, stats: Stats): Stat {
  const isDirectory = stats.isDirectory();
  return { path, type: isDirectory ? "directory" : "file", size: isDirectory ? 0 : stats.size, mtime: new Date(stats.mtime * 1000) };
}

/** A part-file name beside `remote` that cannot collide, and stays within NAME_MAX (255 bytes). */
function partPathFor(remote: string): string {
  let name = baseName(remote);
  while (Buffer.byteLength(name) > 200) name = Array.from(name).slice(0, -1).join("");
  return childPath(parentPath(remote), `.${name}.${randomBytes(8).toString("hex")}${PART_SUFFIX}`);
}

export class SshSystem implements System {
  readonly name = "ssh" as const;
  readonly id: string;
  readonly semantics = SEMANTICS;
  /** A stream write cut by a failure that may pass continues from its part file (../partial.ts). */
  readonly uploads: ResumableUploads = {
    offset: (path: string, state: UploadState, options: { size: number }) => {
      const target = normalizePath(path);
      return guard("resume", target, async () => {
        const { sftp, remote } = await this.#resolve(target);
        const part = partOf(target, state, remote);
        const held = part ? ((await sftp.statOrUndefined(part))?.size ?? 0) : 0;
        return resumableBytes(held, options.size);
      });
    },
    discard: (path: string, state: UploadState) => {
      const target = normalizePath(path);
      return guard("discard", target, async () => {
        const { sftp, remote } = await this.#resolve(target);
        const part = anyPartOf(target, state, remote);
        if (part) await ignoreMissing(sftp.unlink(part));
      });
    },
  };
  /** Small files travel as one tar archive per batch (./batch.ts). */
  readonly batches: BatchWrites = {
    maxFiles: 256,
    maxBytes: 16 << 20,
    writeMany: (files, options) => this.#writeMany(files, options),
  };
  /** Small files come back as one tar archive per batch, packed on the host (./batch-read.ts). */
  readonly batchReads: BatchReads = {
    maxFiles: 256,
    maxBytes: 16 << 20,
    readMany: (paths, options) => this.#readMany(paths, options),
  };
  #catChannels = 0;
  readonly #unpackers = new CommandLoops(UNPACK_LOOP, LOOPS_PER_CONNECTION);
  readonly #copiers = new CommandLoops(COPY_LOOP, LOOPS_PER_CONNECTION);
  readonly #packers = new CommandLoops(PACK_LOOP, LOOPS_PER_CONNECTION);
  /** Part files and staging directories of writers that died, removed by later writes (./leftovers.ts). */
  readonly #orphans = new OrphanSweeper();

  constructor(readonly connection: SshConnection) {
    const { user, hostName, port } = connection.settings;
    this.id = `ssh:${user}@${hostName}:${port}`;
  }

  /** The session, and `path` as a path on the host ("/~/x" is below the login directory). */
  async #resolve(path: string): Promise<{ session: Session; sftp: SftpClient; remote: string }> {
    const session = await this.connection.session();
    return { session, sftp: session.pool.pick(), remote: this.#onHost(session, path) };
  }

  stat(path: string): Promise<Stat> {
    const target = normalizePath(path);
    return guard("stat", target, async () => {
      const { sftp, remote } = await this.#resolve(target);
      return toStat(target, await sftp.stat(remote));
    });
  }

  async *list(path: string, options: ListOptions = {}): AsyncIterable<Entry> {
    const target = normalizePath(path);
    try {
      const { sftp, remote } = await this.#resolve(target);
      if (options.recursive) {
        for await (const file of walkFiles(sftp, { path: target, remote }, options.signal)) yield toStat(file.path, file.stats);
        return;
      }
      // SFTP has no page size: OpenSSH's sftp-server answers up to 100 names per request.
      for await (const batch of readdirBatches(sftp, remote)) {
        for (const entry of batch) {
          options.signal?.throwIfAborted();
          const stats = await resolveEntry(sftp, childPath(remote, entry.filename), entry.attrs);
          if (stats) yield toStat(childPath(target, entry.filename), stats);
        }
      }
    } catch (error) {
      throw guard.error("list", target, error);
    }
  }

  read(path: string, options: ReadOptions = {}): Promise<Readable> {
    return this.readRange(path, undefined, options);
  }

  readRange(path: string, range: ByteRange | undefined, options: ReadOptions = {}): Promise<Readable> {
    const target = normalizePath(path);
    return guard("read", target, async () => {
      options.signal?.throwIfAborted();
      const { session, sftp, remote } = await this.#resolve(target);
      const handle = await sftp.open(remote, "r");
      try {
        const stats = await sftp.fstat(handle);
        if (stats.isDirectory()) throw new StowageError({ code: "IsADirectory", system: "ssh", operation: "read", path: target });
        const { start, end } = resolveRange(range, stats.size);
        const whole = start === 0 && end === stats.size;
        // Large ranges stream through cat (the whole file) or dd (a range from a whole MiB on).
        const catStream = end - start >= CAT_DOWNLOAD_MIN_BYTES && (whole || start % DD_BLOCK === 0) ? await this.#catDownload(session, remote, { start, end }, whole, target) : undefined;
        if (catStream) await sftp.close(handle).catch(() => {});
        const stream = catStream ?? pipelinedReader(sftp, handle, start, end, READ_CONCURRENCY);
        if (options.signal) addAbortSignal(options.signal, stream);
        return guard.stream("read", target, stream);
      } catch (error) {
        await sftp.close(handle).catch(() => {});
        throw error;
      }
    });
  }

  /**
   * The session and host path for a write of `target`, refusing early (AlreadyExists) when the
   * target exists and overwriting is off, rather than upload for nothing: the final rename is what
   * enforces it.
   */
  async #startWrite(target: string, options: { overwrite?: boolean | undefined; signal?: AbortSignal | undefined }): Promise<{ session: Session; sftp: SftpClient; remote: string; overwrite: boolean }> {
    options.signal?.throwIfAborted();
    const { session, sftp, remote } = await this.#resolve(target);
    const overwrite = options.overwrite ?? true;
    if (!overwrite && (await sftp.statOrUndefined(remote))) throw alreadyExists("write", target);
    return { session, sftp, remote, overwrite };
  }

  write(path: string, body: WriteBody, options: WriteOptions = {}): Promise<WriteResult> {
    const target = normalizePath(path);
    return guard("write", target, async () => {
      const { session, sftp, remote, overwrite } = await this.#startWrite(target, options);
      const { checkpoint, signal } = options;
      const resume = checkpoint?.resume;
      const source = writeSource(resume && isBytes(body) ? Readable.from([bytesOf(body)]) : body, signal);
      if (resume) return this.#resumeWrite(sftp, remote, target, resume, source, overwrite, signal);
      const part = partPathFor(remote);
      let handle: Buffer | undefined = await this.#createPart(sftp, part);
      if (checkpoint && !Buffer.isBuffer(source)) checkpoint.save(partialState(target, part));
      const sweeping = this.#orphans.sweep(session.client, session.pool.pick(), parentPath(part), part);
      try {
        let size: number | undefined;
        if (!Buffer.isBuffer(source) && (options.size ?? Infinity) >= CAT_UPLOAD_MIN_BYTES && (await session.tools).cat) {
          await sftp.close(handle);
          handle = undefined;
          size = await this.#catUpload(session, sftp, part, source, target, options.signal);
          // The host refused another channel before any byte was read: write over SFTP after all.
          if (size === undefined) handle = await sftp.open(part, "w");
        }
        if (handle) {
          size = await pipelinedWrite(sftp, handle, source, options.concurrency ?? WRITE_CONCURRENCY, options.signal);
          const closing = handle;
          handle = undefined;
          await sftp.close(closing);
        }
        options.signal?.throwIfAborted();
        await this.#publish(sftp, part, remote, target, overwrite, "write");
        await sweeping;
        return { path: target, size: size ?? 0 };
      } catch (error) {
        if (handle) await sftp.close(handle).catch(() => {});
        // A failure that may pass keeps the part file for the checkpoint's next attempt.
        if (!(checkpoint && worthKeeping(error, "ssh", mapSshError, signal))) await sftp.unlink(part).catch(() => {});
        throw error;
      }
    });
  }

  async #writeMany(files: readonly BatchFile[], options: BatchWriteOptions = {}): Promise<Array<WriteResult | Error>> {
    const targets = files.map((file) => normalizePath(file.path));
    const { signal } = options;
    const overwrite = options.overwrite ?? true;
    return guard("write", commonDirectory(targets.map(parentPath)), async () => {
      signal?.throwIfAborted();
      const { session, sftp } = await this.#resolve("/");
      const remotes = targets.map((target) => this.#onHost(session, target));
      const parents = [...new Set(remotes.map(parentPath))];
      const stage = stagingPath(commonDirectory(parents), randomBytes(8).toString("hex"));
      if (stage.includes("\n")) throw new StowageError({ code: "Unsupported", system: "ssh", operation: "write", path: stage, message: "batches need a staging path without newlines" });
      await Promise.all(parents.map((parent) => this.#mkdirs(session.pool.pick(), parent)));
      await sftp.mkdir(stage);
      const sweeping = this.#orphans.sweep(session.client, session.pool.pick(), parentPath(stage), stage);
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
            await this.#publish(session.pool.pick(), staged, remote, target, overwrite, "write");
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
      const { session, sftp } = await this.#resolve(dir);
      const remoteDir = this.#onHost(session, dir);
      const names = targets.map((target) => relativePath(dir, target) ?? "");
      // A name the loop cannot carry (a newline) or an empty one is left to a read of its own.
      const packed = names.filter((name) => name !== "" && CommandLoop.fits([name]));
      if (!CommandLoop.fits([remoteDir]) || packed.length === 0) {
        throw new StowageError({ code: "InvalidInput", system: "ssh", operation: "read", path: dir, message: "no file of this batch can be packed on the host" });
      }
      const archivePath = await pack(await this.#packers.pick(session.client), remoteDir, packed);
      let members: Map<string, Buffer>;
      try {
        signal?.throwIfAborted();
        members = untar(await this.#readWhole(sftp, archivePath));
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

  /** A whole file on the host, read with pipelined requests. */
  async #readWhole(sftp: SftpClient, remote: string): Promise<Buffer> {
    const handle = await sftp.open(remote, "r");
    let size: number;
    try {
      size = (await sftp.fstat(handle)).size;
    } catch (error) {
      await sftp.close(handle).catch(() => {});
      throw error;
    }
    return readAll(pipelinedReader(sftp, handle, 0, size, READ_CONCURRENCY));
  }

  /** A system path as a path on the host ("/~/x" is below the login directory). */
  #onHost(session: Session, path: string): string {
    if (path === "/~") return session.home;
    if (path.startsWith("/~/")) return childPath(session.home, path.slice(3));
    return path;
  }

  /** Continues a kept part file: what it holds past the offset is cut, the body goes after it. */
  async #resumeWrite(
    sftp: SftpClient,
    remote: string,
    target: string,
    resume: NonNullable<UploadCheckpoint["resume"]>,
    source: Buffer | Readable,
    overwrite: boolean,
    signal: AbortSignal | undefined,
  ): Promise<WriteResult> {
    const part = partOf(target, resume.state, remote);
    if (!part) throw new StowageError({ code: "InvalidInput", system: "ssh", operation: "write", path: target, message: "the write to resume is not a partial file of this target" });
    const gone = (message: string, cause?: unknown) =>
      new StowageError({ code: "Conflict", retryable: true, system: "ssh", operation: "write", path: target, message, cause });
    const handle = await sftp.open(part, "r+").catch((error: unknown) => {
      throw isStatus(error, SFTP_STATUS.NO_SUCH_FILE) ? gone("the partial file to resume is gone", error) : error;
    });
    try {
      const held = (await sftp.fstat(handle)).size ?? 0;
      if (held < resume.offset) throw gone(`the partial file holds ${held} bytes, not ${resume.offset}`);
      await sftp.truncate(handle, resume.offset);
      const sent = await pipelinedWrite(sftp, handle, source, WRITE_CONCURRENCY, signal, resume.offset);
      await sftp.close(handle);
      signal?.throwIfAborted();
      await this.#publish(sftp, part, remote, target, overwrite, "write");
      return { path: target, size: resume.offset + sent };
    } catch (error) {
      await sftp.close(handle).catch(() => {});
      if (!worthKeeping(error, "ssh", mapSshError, signal)) await sftp.unlink(part).catch(() => {});
      throw error;
    }
  }

  /**
   * A stream of the file through `cat`, or undefined (read over SFTP instead) when the host has no
   * POSIX shell with cat, this connection already runs CAT_CHANNELS_PER_CONNECTION, or the host
   * refuses another channel.
   */
  async #catDownload(session: Session, remote: string, range: { start: number; end: number }, whole: boolean, target: string): Promise<Readable | undefined> {
    if (this.#catChannels >= CAT_CHANNELS_PER_CONNECTION) return undefined;
    const tools = await session.tools;
    if (!(whole ? tools.cat : tools.dd)) return undefined;
    this.#catChannels++;
    const size = range.end - range.start;
    const channel = await startCatDownload(session.client, remote, whole ? undefined : { offset: range.start, length: size }).catch(() => undefined);
    if (!channel) {
      this.#catChannels--;
      return undefined;
    }
    channel.once("close", () => this.#catChannels--);
    return catReader(channel, size, target);
  }

  openRangeWriter(path: string, options: RangeWriterOptions): Promise<RangeWriter> {
    const target = normalizePath(path);
    return guard("write", target, async () => {
      const { session, sftp, remote, overwrite } = await this.#startWrite(target, options);
      const kept = resumedRangesPart("ssh", target, options.resume, remote);
      if (kept && !(await sftp.statOrUndefined(kept))) {
        throw new StowageError({ code: "Conflict", retryable: true, system: "ssh", operation: "write", path: target, message: "the partial file to resume is gone" });
      }
      const part = kept ?? partPathFor(remote);
      if (!kept) await sftp.close(await this.#createPart(sftp, part));
      void this.#orphans.sweep(session.client, session.pool.pick(), parentPath(part), part).catch(() => {});
      return partRangeWriter({
        system: "ssh",
        target,
        part,
        size: options.size,
        writeRange: (offset, _length, body, signal) => this.#writeRange(session, part, offset, body, signal),
        partSize: async () => (await sftp.stat(part)).size,
        publish: () => this.#publish(sftp, part, remote, target, overwrite, "write"),
        remove: () => sftp.unlink(part),
        guard: (run) => guard("write", target, run),
      });
    });
  }

  /**
   * Writes one range of a part file: through `dd` on its own exec channel (each range then has its
   * own 2 MiB window), or over SFTP at the range's offset where the host has no dd, this connection
   * already runs CAT_CHANNELS_PER_CONNECTION, or the host refuses another channel.
   */
  async #writeRange(session: Session, part: string, offset: number, body: AsyncIterable<Uint8Array>, signal: AbortSignal | undefined): Promise<number> {
    if (this.#catChannels < CAT_CHANNELS_PER_CONNECTION && (await session.tools).dd) {
      this.#catChannels++;
      try {
        const channel = await startRangeWrite(session.client, part, offset).catch(() => undefined);
        if (channel) return await catInto(channel, body, signal);
      } finally {
        this.#catChannels--;
      }
    }
    const sftp = session.pool.pick();
    const handle = await sftp.open(part, "r+");
    try {
      return await pipelinedWrite(sftp, handle, writeSource(body, signal), WRITE_CONCURRENCY, signal, offset);
    } finally {
      await sftp.close(handle).catch(() => {});
    }
  }

  /**
   * Streams `body` into the (empty, closed) part file through `cat` and checks what arrived.
   * Undefined, with nothing read from `body`, when this connection already runs
   * CAT_CHANNELS_PER_CONNECTION of them or the host refuses another channel (MaxSessions).
   */
  async #catUpload(session: Session, sftp: SftpClient, part: string, body: Readable, target: string, signal: AbortSignal | undefined): Promise<number | undefined> {
    if (this.#catChannels >= CAT_CHANNELS_PER_CONNECTION) return undefined;
    this.#catChannels++;
    try {
      const channel = await startCat(session.client, part).catch(() => undefined);
      if (!channel) return undefined;
      const sent = await catInto(channel, body, signal);
      const landed = (await sftp.stat(part)).size;
      if (landed !== sent) {
        throw new StowageError({ code: "Conflict", retryable: true, system: "ssh", operation: "write", path: target, message: `sent ${sent} bytes, ${landed} arrived` });
      }
      return sent;
    } finally {
      this.#catChannels--;
    }
  }

  /** Creates the part file exclusively, creating its parent directories when they are missing. */
  async #createPart(sftp: SftpClient, part: string): Promise<Buffer> {
    try {
      return await sftp.open(part, "wx");
    } catch (error) {
      if (!isStatus(error, SFTP_STATUS.NO_SUCH_FILE)) throw error;
      await this.#mkdirs(sftp, parentPath(part));
      return sftp.open(part, "wx");
    }
  }

  /** Renames a finished part file onto its target, replacing it only when `overwrite`. */
  async #publish(sftp: SftpClient, part: string, remote: string, target: string, overwrite: boolean, operation: string): Promise<void> {
    try {
      if (overwrite) await sftp.posixRename(part, remote);
      else await sftp.rename(part, remote);
    } catch (error) {
      // FAILURE is the errno catch-all: find out what stood in the way.
      if (!isStatus(error, SFTP_STATUS.FAILURE, SFTP_STATUS.FILE_ALREADY_EXISTS)) throw error;
      const existing = await sftp.statOrUndefined(remote);
      if (existing?.isDirectory()) throw new StowageError({ code: "IsADirectory", system: "ssh", operation, path: target, cause: error });
      if (existing && !overwrite) throw alreadyExists(operation, target, error);
      throw error;
    }
  }

  /** mkdir -p over SFTP. */
  async #mkdirs(sftp: SftpClient, remote: string): Promise<void> {
    try {
      await sftp.mkdir(remote);
      return;
    } catch (error) {
      const existing = await sftp.statOrUndefined(remote);
      if (existing?.isDirectory()) return;
      if (existing) throw Object.assign(new Error(`${remote} exists and is not a directory`, { cause: error }), { code: "ENOTDIR" });
      if (!isStatus(error, SFTP_STATUS.NO_SUCH_FILE) || remote === "/") throw error;
    }
    await this.#mkdirs(sftp, parentPath(remote));
    await this.#mkdirs(sftp, remote);
  }

  delete(paths: readonly string[], options: DeleteOptions = {}): Promise<void> {
    return guard("delete", paths.length === 1 ? paths[0] : undefined, async () => {
      for (const path of paths) {
        options.signal?.throwIfAborted();
        const target = normalizePath(path);
        const { sftp, remote } = await this.#resolve(target);
        const stats = await sftp.lstat(remote).catch((error: unknown) => {
          if (isStatus(error, SFTP_STATUS.NO_SUCH_FILE)) return undefined;
          throw error;
        });
        if (!stats) continue;
        if (!stats.isDirectory()) await ignoreMissing(sftp.unlink(remote));
        else if (options.recursive) await removeTree(sftp, remote, options.signal);
        else await this.#removeEmptyDir(sftp, remote, target);
      }
    });
  }

  /** Without `recursive` a directory goes only when empty, as rmdir does. */
  async #removeEmptyDir(sftp: SftpClient, remote: string, target: string): Promise<void> {
    try {
      await ignoreMissing(sftp.rmdir(remote));
    } catch (error) {
      if (!isStatus(error, SFTP_STATUS.FAILURE)) throw error;
      throw new StowageError({
        code: "Conflict",
        system: "ssh",
        operation: "delete",
        path: target,
        message: "the directory is not empty; delete it with recursive: true",
        cause: error,
      });
    }
  }

  copy(from: string, to: string, options: CopyOptions = {}): Promise<void> {
    const source = normalizePath(from);
    const target = normalizePath(to);
    return guard("copy", source, async () => {
      options.signal?.throwIfAborted();
      const { session, sftp, remote: remoteSource } = await this.#resolve(source);
      const { remote: remoteTarget } = await this.#resolve(target);
      const stats = await sftp.stat(remoteSource);
      if (stats.isDirectory()) throw new StowageError({ code: "IsADirectory", system: "ssh", operation: "copy", path: source });
      const overwrite = options.overwrite ?? true;
      if (!overwrite && (await sftp.statOrUndefined(remoteTarget))) throw alreadyExists("copy", target);
      await this.#mkdirs(sftp, parentPath(remoteTarget));
      const part = partPathFor(remoteTarget);
      try {
        const { status, message } = await this.#copyOnHost(session, remoteSource, part, options.signal);
        if (status !== 0) {
          throw new StowageError({ code: "Unexpected", system: "ssh", operation: "copy", path: source, message: `cp exited with ${status}${message ? `: ${message}` : ""}` });
        }
        await this.#publish(sftp, part, remoteTarget, target, overwrite, "copy");
      } catch (error) {
        await sftp.unlink(part).catch(() => {});
        throw error;
      }
    });
  }

  /** `cp` on the host: through a command loop, or its own exec where a path holds a newline. */
  async #copyOnHost(session: Session, from: string, to: string, signal: AbortSignal | undefined): Promise<{ status: number; message: string }> {
    if (CommandLoop.fits([from, to])) {
      signal?.throwIfAborted();
      return (await this.#copiers.pick(session.client)).request([from, to], from);
    }
    const result = await runCommand(session.client, `cp -- ${shellQuote(from)} ${shellQuote(to)}`, signal ? { signal } : {});
    return { status: result.code, message: result.stderr.toString("utf8").trim() };
  }

  mkdir(path: string): Promise<void> {
    const target = normalizePath(path);
    return guard("mkdir", target, async () => {
      const { sftp, remote } = await this.#resolve(target);
      await this.#mkdirs(sftp, remote);
    });
  }

  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    return guard("exec", undefined, async () => {
      const { client } = await this.connection.session();
      return runCommand(client, command, options);
    });
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

/** The deepest directory that is or holds each of `directories`. */
function commonDirectory(directories: readonly string[]): string {
  let common = directories[0] ?? "/";
  for (const directory of directories) {
    while (common !== "/" && directory !== common && !directory.startsWith(`${common}/`)) common = parentPath(common);
  }
  return common;
}

/** Bytes as they are (sent without copying); anything else as a stream that ends on abort. */
function writeSource(body: WriteBody, signal: AbortSignal | undefined): Buffer | Readable {
  if (isBytes(body)) return bytesOf(body);
  const stream = toReadable(body);
  if (signal) addAbortSignal(signal, stream);
  return stream;
}

function alreadyExists(operation: string, path: string, cause?: unknown): StowageError {
  return new StowageError({ code: "AlreadyExists", system: "ssh", operation, path, cause });
}

/** Connects at once, so a wrong host, key or host key shows up when the system is opened. */
export async function createSshSystem(address: Address, config: StowageConfig): Promise<System> {
  return guard("connect", address.path, async () => {
    const connection = new SshConnection(resolveSettings(address, config));
    await connection.session();
    return new SshSystem(connection);
  });
}
