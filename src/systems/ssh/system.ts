/**
 * A remote host over SSH, the facade: each operation picks its transport. Metadata, small files
 * and whatever the host cannot do otherwise go over pipelined SFTP (./sftp-io.ts); large files and
 * ranges through `cat` and `dd` on exec channels (./exec-channels.ts); many small files as tar
 * batches (./tar-batches.ts); same-host copies in a command loop. Writes go to a hidden part file
 * beside the target and are renamed into place (./host-files.ts), so readers see the old file or
 * the new one, never half of it; a cut stream write continues from its part file (./resume.ts).
 * Every operation counts as in flight on the connection until it settles (a stream it returns,
 * until the stream is done): only then may the process exit and the connection close (./idle.ts).
 */
import { addAbortSignal, Readable } from "node:stream";
import type { Address } from "../../address.js";
import type { StowageConfig } from "../../config.js";
import { StowageError } from "../../errors.js";
import { bytesOf, isBytes, resolveRange } from "../body.js";
import type {
  BatchReads,
  BatchWrites,
  ByteRange,
  ByteSpan,
  CopyOptions,
  DeleteOptions,
  Entry,
  ExecOptions,
  ExecResult,
  ListOptions,
  RangeChecksum,
  RangeWriter,
  RangeWriterOptions,
  ReadOptions,
  ResumableUploads,
  Semantics,
  Stat,
  System,
  WriteBody,
  WriteOptions,
  WriteResult,
} from "../contract.js";
import { worthKeeping } from "../guard.js";
import { checkBeforePublish, partialState, partRangeWriter, resumedRangesPart } from "../partial.js";
import { readBackDigests } from "./digest.js";
import { normalizePath, parentPath } from "../paths.js";
import { CommandLoop, CommandLoops } from "./command-loop.js";
import { SshConnection, type Session } from "./connect.js";
import { mapSshError, SFTP_STATUS } from "./errors.js";
import { CAT_DOWNLOAD_MIN_BYTES, CAT_UPLOAD_MIN_BYTES, ExecChannels } from "./exec-channels.js";
import { DD_BLOCK, runCommand, shellQuote } from "./exec.js";
import { guard } from "./guard.js";
import { releaseWhenDone } from "./idle.js";
import { alreadyExists, createPart, mkdirs, onHost, partPathFor, publish, READ_CONCURRENCY, toStat, WRITE_CONCURRENCY, writeSource } from "./host-files.js";
import { OrphanSweeper } from "./leftovers.js";
import { resumableUploads, resumeWrite } from "./resume.js";
import { resolveSettings } from "./settings.js";
import { isStatus, pipelinedReader, pipelinedWrite, type SftpClient } from "./sftp-io.js";
import { TarBatches } from "./tar-batches.js";
import { childPath, ignoreMissing, readdirBatches, removeTree, resolveEntry, walkFiles } from "./tree.js";

const SEMANTICS: Semantics = {
  atomicWrite: true,
  // OpenSSH's plain SFTP rename links the part file to the target, and link(2) fails if it exists.
  conditionalWrite: true,
  checksums: [],
  directories: true,
  local: false,
};

/** Copy loops per connection (each holds an exec channel; see MaxSessions). */
const COPY_LOOPS_PER_CONNECTION = 2;
/**
 * Copies on the host, a source and a target line per request (./command-loop.ts); cp's message
 * comes back on the answer's line. Globbing is off so the message is printed as it is.
 */
const COPY_LOOP = `set -f; while IFS= read -r from && IFS= read -r to; do if out=$(cp -- "$from" "$to" 2>&1); then echo 0; else printf '%s %s\\n' "$?" "$(echo $out)"; fi; done`;

export class SshSystem implements System {
  readonly name = "ssh" as const;
  readonly id: string;
  readonly semantics = SEMANTICS;
  /** A stream write cut by a failure that may pass continues from its part file (./resume.ts). */
  readonly uploads: ResumableUploads;
  /** Small files travel as one tar archive per batch, both ways (./tar-batches.ts). */
  readonly batches: BatchWrites;
  readonly batchReads: BatchReads;
  readonly #channels = new ExecChannels();
  readonly #copiers = new CommandLoops(COPY_LOOP, COPY_LOOPS_PER_CONNECTION);
  /** Part files and staging directories of writers that died, removed by later writes (./leftovers.ts). */
  readonly #orphans = new OrphanSweeper();

  constructor(readonly connection: SshConnection) {
    const { user, hostName, port } = connection.settings;
    this.id = `ssh:${user}@${hostName}:${port}`;
    const uploads = resumableUploads(connection);
    this.uploads = {
      offset: (path, state, options) => this.#op(() => uploads.offset(path, state, options)),
      discard: (path, state) => this.#op(() => uploads.discard(path, state)),
    };
    const tar = new TarBatches(connection, this.#orphans);
    this.batches = { ...tar.writes, writeMany: (files, options) => this.#op(() => tar.writes.writeMany(files, options)) };
    this.batchReads = { ...tar.reads, readMany: (paths, options) => this.#op(() => tar.reads.readMany(paths, options)) };
  }

  /** Runs one operation, counted as in flight on the connection while it runs. */
  #op<T>(run: () => Promise<T>): Promise<T> {
    return this.connection.inFlight.run(run);
  }

  /** `guard`, counted as in flight. */
  #guarded<T>(operation: string, path: string | undefined, run: () => Promise<T>): Promise<T> {
    return this.#op(() => guard(operation, path, run));
  }

  /** The session, and `path` as a path on the host ("/~/x" is below the login directory). */
  async #resolve(path: string): Promise<{ session: Session; sftp: SftpClient; remote: string }> {
    const session = await this.connection.session();
    return { session, sftp: session.pool.pick(), remote: onHost(session, path) };
  }

  stat(path: string): Promise<Stat> {
    const target = normalizePath(path);
    return this.#guarded("stat", target, async () => {
      const { sftp, remote } = await this.#resolve(target);
      return toStat(target, await sftp.stat(remote));
    });
  }

  list(path: string, options: ListOptions = {}): AsyncIterable<Entry> {
    return this.connection.inFlight.iterate(() => this.#list(path, options));
  }

  async *#list(path: string, options: ListOptions): AsyncIterable<Entry> {
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

  /** The stream counts as in flight until it is done. */
  async readRange(path: string, range: ByteRange | undefined, options: ReadOptions = {}): Promise<Readable> {
    const release = this.connection.inFlight.begin();
    try {
      return releaseWhenDone(await this.#readRange(path, range, options), release);
    } catch (error) {
      release();
      throw error;
    }
  }

  #readRange(path: string, range: ByteRange | undefined, options: ReadOptions): Promise<Readable> {
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
        const catStream =
          end - start >= CAT_DOWNLOAD_MIN_BYTES && (whole || start % DD_BLOCK === 0)
            ? await this.#channels.download(session, remote, { start, end }, whole, target)
            : undefined;
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
  async #startWrite(
    target: string,
    options: { overwrite?: boolean | undefined; signal?: AbortSignal | undefined },
  ): Promise<{ session: Session; sftp: SftpClient; remote: string; overwrite: boolean }> {
    options.signal?.throwIfAborted();
    const { session, sftp, remote } = await this.#resolve(target);
    const overwrite = options.overwrite ?? true;
    if (!overwrite && (await sftp.statOrUndefined(remote))) throw alreadyExists("write", target);
    return { session, sftp, remote, overwrite };
  }

  write(path: string, body: WriteBody, options: WriteOptions = {}): Promise<WriteResult> {
    const target = normalizePath(path);
    return this.#guarded("write", target, async () => {
      const { session, sftp, remote, overwrite } = await this.#startWrite(target, options);
      const { checkpoint, signal } = options;
      const resume = checkpoint?.resume;
      const source = writeSource(resume && isBytes(body) ? Readable.from([bytesOf(body)]) : body, signal);
      const check = (part: string) =>
        checkBeforePublish(
          options,
          (ranges, digest) => this.#digest(session, part, ranges, digest?.checksum ?? "md5", digest?.signal ?? signal),
          () => sftp.unlink(part),
        );
      if (resume) return resumeWrite(sftp, remote, target, resume, source, overwrite, signal, check);
      const part = partPathFor(remote);
      let handle: Buffer | undefined = await createPart(sftp, part);
      if (checkpoint && !Buffer.isBuffer(source)) checkpoint.save(partialState(target, part));
      const sweeping = this.#orphans.sweep(session.client, session.pool.pick(), parentPath(part), part);
      try {
        let size: number | undefined;
        if (!Buffer.isBuffer(source) && (options.size ?? Infinity) >= CAT_UPLOAD_MIN_BYTES && (await session.tools).cat) {
          await sftp.close(handle);
          handle = undefined;
          size = await this.#channels.upload(session, sftp, part, source, target, options.signal);
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
        await check(part);
        await publish(sftp, part, remote, target, overwrite, "write");
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

  openRangeWriter(path: string, options: RangeWriterOptions): Promise<RangeWriter> {
    const target = normalizePath(path);
    return this.#guarded("write", target, async () => {
      const { session, sftp, remote, overwrite } = await this.#startWrite(target, options);
      const kept = resumedRangesPart("ssh", target, options.resume, remote);
      if (kept && !(await sftp.statOrUndefined(kept))) {
        throw new StowageError({
          code: "Conflict",
          retryable: true,
          system: "ssh",
          operation: "write",
          path: target,
          message: "the partial file to resume is gone",
        });
      }
      const part = kept ?? partPathFor(remote);
      if (!kept) await sftp.close(await createPart(sftp, part));
      void this.#orphans.sweep(session.client, session.pool.pick(), parentPath(part), part).catch(() => {});
      return partRangeWriter({
        system: "ssh",
        target,
        part,
        size: options.size,
        writeRange: (offset, length, body, signal, onWritten, checksum) =>
          this.#writeRange(session, part, offset, body, signal, onWritten, checksum === "cksum" ? { length } : undefined),
        partSize: async () => (await sftp.stat(part)).size,
        digest: (ranges, digest) => this.#digest(session, part, ranges, digest?.checksum ?? "md5", digest?.signal ?? options.signal),
        // POSIX cksum on the host, of each range as soon as dd has written it (./exec-upload.ts).
        checksums: (await session.tools).cksum ? ["cksum"] : [],
        publish: () => publish(sftp, part, remote, target, overwrite, "write"),
        remove: () => this.#op(() => sftp.unlink(part)),
        // Each range, the commit and the abort count as in flight, not the writer's whole life.
        guard: (run) => this.#guarded("write", target, run),
      });
    });
  }

  /** Checksums of ranges of a file on the host: by md5sum or cksum there, else read back over SFTP (./digest.ts). */
  async #digest(session: Session, file: string, ranges: readonly ByteSpan[], checksum: RangeChecksum, signal: AbortSignal | undefined): Promise<string[]> {
    if (ranges.length === 0) return [];
    return (await this.#channels.digest(session, file, ranges, checksum, signal)) ?? readBackDigests(session, file, ranges, checksum);
  }

  /**
   * One range of a part file: through `dd` on its own exec channel (then checksummed on the host,
   * when asked and the host can), else over SFTP at the range's offset (then digested afterwards).
   */
  async #writeRange(
    session: Session,
    part: string,
    offset: number,
    body: AsyncIterable<Uint8Array>,
    signal: AbortSignal | undefined,
    onWritten: ((bytes: number) => void) | undefined,
    checksum: { length: number } | undefined,
  ): Promise<{ received: number; checksum?: string | undefined }> {
    const written = await this.#channels.writeRange(session, part, offset, body, signal, onWritten, checksum);
    if (written !== undefined) return written;
    const sftp = session.pool.pick();
    const handle = await sftp.open(part, "r+");
    try {
      return { received: await pipelinedWrite(sftp, handle, writeSource(body, signal), WRITE_CONCURRENCY, signal, offset, onWritten) };
    } finally {
      await sftp.close(handle).catch(() => {});
    }
  }

  delete(paths: readonly string[], options: DeleteOptions = {}): Promise<void> {
    return this.#guarded("delete", paths.length === 1 ? paths[0] : undefined, async () => {
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
    return this.#guarded("copy", source, async () => {
      options.signal?.throwIfAborted();
      const { session, sftp, remote: remoteSource } = await this.#resolve(source);
      const { remote: remoteTarget } = await this.#resolve(target);
      const stats = await sftp.stat(remoteSource);
      if (stats.isDirectory()) throw new StowageError({ code: "IsADirectory", system: "ssh", operation: "copy", path: source });
      const overwrite = options.overwrite ?? true;
      if (!overwrite && (await sftp.statOrUndefined(remoteTarget))) throw alreadyExists("copy", target);
      await mkdirs(sftp, parentPath(remoteTarget));
      const part = partPathFor(remoteTarget);
      try {
        const { status, message } = await this.#copyOnHost(session, remoteSource, part, options.signal);
        if (status !== 0) {
          throw new StowageError({
            code: "Unexpected",
            system: "ssh",
            operation: "copy",
            path: source,
            message: `cp exited with ${status}${message ? `: ${message}` : ""}`,
          });
        }
        await publish(sftp, part, remoteTarget, target, overwrite, "copy");
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
    return this.#guarded("mkdir", target, async () => {
      const { sftp, remote } = await this.#resolve(target);
      await mkdirs(sftp, remote);
    });
  }

  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    return this.#guarded("exec", undefined, async () => {
      const { client } = await this.connection.session();
      return runCommand(client, command, options);
    });
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

/** Connects at once, so a wrong host, key or host key shows up when the system is opened. */
export async function createSshSystem(address: Address, config: StowageConfig): Promise<System> {
  return guard("connect", address.path, async () => {
    const connection = new SshConnection(resolveSettings(address, config));
    await connection.session();
    return new SshSystem(connection);
  });
}
