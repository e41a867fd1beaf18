/**
 * A Folder: a directory on any system. The same methods everywhere; `to()` copies it to any other
 * system by the cheapest route the transfer engine finds.
 */
import type { Readable } from "node:stream";
import type { Address } from "../address.js";
import { StowageError, isStowageError } from "../errors.js";
import { savedAddress, type RecordBody } from "../registry/index.js";
import { readAll } from "../systems/body.js";
import type { Entry, System, WriteBody } from "../systems/contract.js";
import { readRange, writable } from "../systems/extensions.js";
import { relativePath } from "../systems/paths.js";
import type { TransferOptions, TransferReport } from "../transfer/types.js";
import { Blob } from "./blob.js";
import { Resource, type ResourceOptions } from "./resource.js";
import { RESOURCE_OPTIONS, addressFromInit, checkOptions, resolvePlace, type Place, type ResourceInit } from "./location.js";
import { childPath } from "./names.js";
import { loadAs, resourcesBelow, type NameEntry } from "./named.js";
import { toByteRange, type OpenOptions } from "./ranges.js";
import { transferBetween } from "../transfer/between.js";

export interface FolderEntry {
  /** Path relative to the folder. */
  path: string;
  type: "file" | "directory";
  size: number;
  mtime?: Date;
  etag?: string;
  md5?: string;
}

export interface LsOptions {
  recursive?: boolean;
  signal?: AbortSignal;
}

export interface ToOptions extends TransferOptions {
  /** The path at the destination, when the destination names only a system or host. */
  path?: string;
}

export type FolderInit = ResourceInit;

export class Folder extends Resource {
  readonly resourceType = "folder" as const;
  /** The report of the transfer that created this folder, when it came from `to()`. */
  readonly report: TransferReport | undefined;
  #made = false;

  constructor(address: Address, report?: TransferReport, options: ResourceOptions = {}) {
    super(address, options);
    this.report = report;
  }

  /** The folder saved under `name`. */
  static fromName(name: string): Promise<Folder> {
    return loadAs<Folder>(name, "folder");
  }

  /** With `mkdir: true`, creates the folder once, before its first write. */
  async #prepare(system: System): Promise<void> {
    if (!this.createFolder || this.#made) return;
    await writable(system, "mkdir", this.path).mkdir(this.path);
    this.#made = true;
  }

  async writePending(): Promise<void> {
    await this.#prepare(await this.system());
  }

  async recordBody(): Promise<RecordBody> {
    return { type: "folder", address: savedAddress(this.address), url: this.url };
  }

  /**
   * The named resources (local registry, and the team registry when configured) whose data lives in
   * this folder or below it: what it holds symbolically, beside what `ls` shows it holds physically.
   */
  resources(): Promise<NameEntry[]> {
    return resourcesBelow(this.address);
  }

  /** A folder below this one. */
  folder(name: string): Folder {
    return new Folder({ ...this.address, path: childPath(this.path, name) });
  }

  /** A file in this folder. */
  blob(name: string): Blob {
    return new Blob({ ...this.address, path: childPath(this.path, name) });
  }

  /** Names (relative paths) of the folder's children, or of every file below with `recursive`. */
  ls(options?: LsOptions & { details?: false }): Promise<string[]>;
  /** Entries with size, mtime and checksums where the system knows them. */
  ls(options: LsOptions & { details: true }): Promise<FolderEntry[]>;
  async ls(options: LsOptions & { details?: boolean } = {}): Promise<string[] | FolderEntry[]> {
    const system = await this.system();
    await this.#assertNotAFile(system, "ls");
    const entries: FolderEntry[] = [];
    for await (const entry of system.list(this.path, { recursive: options.recursive ?? false, ...(options.signal ? { signal: options.signal } : {}) })) {
      entries.push(this.#entry(entry));
    }
    entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return options.details ? entries : entries.map((entry) => entry.path);
  }

  #entry(entry: Entry): FolderEntry {
    const out: FolderEntry = { path: relativePath(this.path, entry.path) ?? entry.path, type: entry.type, size: entry.size };
    if (entry.mtime) out.mtime = entry.mtime;
    if (entry.etag) out.etag = entry.etag;
    if (entry.md5) out.md5 = entry.md5;
    return out;
  }

  async #assertNotAFile(system: System, operation: string): Promise<void> {
    const stat = await system.stat(this.path).catch((error: unknown) => {
      if (isStowageError(error, "NotFound") && !system.semantics.directories) return undefined;
      throw error;
    });
    if (stat?.type === "file") {
      throw new StowageError({ code: "NotADirectory", system: system.name, operation, path: this.path, message: `${this.url} is a file, not a folder` });
    }
  }

  /**
   * Writes files into the folder: `{ "a.txt": "hello", "sub/b.bin": bytesOrStream }`. With
   * `overwrite: false` nothing is written when any of them exists (AlreadyExists).
   */
  async put(contents: Record<string, WriteBody> | Iterable<[string, WriteBody]>, options: { overwrite?: boolean; signal?: AbortSignal } = {}): Promise<this> {
    const system = await this.writableSystem("put");
    const files = [...(Symbol.iterator in contents ? contents : Object.entries(contents))].map(([name, body]) => [childPath(this.path, name), body] as const);
    const overwrite = options.overwrite ?? true;
    await this.#prepare(system);
    if (!overwrite) {
      const existing = await Promise.all(
        files.map(([path]) =>
          system.stat(path).then(
            () => path,
            () => undefined,
          ),
        ),
      );
      const first = existing.find((path) => path !== undefined);
      if (first) throw new StowageError({ code: "AlreadyExists", system: system.name, operation: "put", path: first });
    }
    for (const [path, body] of files) {
      await system.write(path, body, { overwrite, ...(options.signal ? { signal: options.signal } : {}) });
    }
    return this;
  }

  /** A file's content as a Buffer, or as a string with an encoding. */
  get(name: string): Promise<Buffer>;
  get(name: string, encoding: BufferEncoding): Promise<string>;
  async get(name: string, encoding?: BufferEncoding): Promise<Buffer | string> {
    const bytes = await readAll(await this.open(name));
    return encoding ? bytes.toString(encoding) : bytes;
  }

  /** A file as a stream; `{ start, end }` reads a byte range (end inclusive, as in fs.createReadStream). */
  async open(name: string, options: OpenOptions = {}): Promise<Readable> {
    const system = await this.system();
    const range = toByteRange(options);
    return readRange(system, childPath(this.path, name), range, options.signal ? { signal: options.signal } : {});
  }

  /** Whether the folder exists (on object stores: whether anything is stored under it). */
  async exists(): Promise<boolean> {
    const system = await this.system();
    try {
      return (await system.stat(this.path)).type === "directory";
    } catch (error) {
      if (isStowageError(error, "NotFound")) return false;
      throw error;
    }
  }

  /** Whether the folder holds a file (or folder) of that name. */
  async contains(name: string): Promise<boolean> {
    const system = await this.system();
    try {
      await system.stat(childPath(this.path, name));
      return true;
    } catch (error) {
      if (isStowageError(error, "NotFound")) return false;
      throw error;
    }
  }

  /** Creates the folder (and parents) where directories exist; object stores need none. */
  async mkdir(): Promise<this> {
    await (await this.writableSystem("mkdir")).mkdir(this.path);
    return this;
  }

  /** Removes the named files or folders, or with no names the whole folder. */
  async rm(names?: string | readonly string[]): Promise<void> {
    const system = await this.writableSystem("rm");
    const targets = names === undefined ? [this.path] : (typeof names === "string" ? [names] : names).map((name) => childPath(this.path, name));
    await system.delete(targets, { recursive: true });
  }

  /**
   * Copies the folder to another place: a URL, `{ system, path }`, a cluster, or a system name with
   * `{ path }`. Returns the folder at the destination, with the transfer report on `.report`.
   */
  async to(destination: Place, options: ToOptions = {}): Promise<Folder> {
    const { path, ...transferOptions } = options;
    const target = resolvePlace(destination, { path, kind: "folders", name: this.baseName });
    const report = await transferBetween(this.address, target, transferOptions);
    return new Folder(target, report);
  }

  /** Moves the folder: copies it, then removes the source once every file arrived. */
  async mv(destination: Place, options: ToOptions = {}): Promise<Folder> {
    const moved = await this.to(destination, options);
    if (!options.dryRun) await this.rm();
    return moved;
  }

  toJSON(): { kind: "folder"; url: string } {
    return { kind: "folder", url: this.url };
  }
}

/**
 * A folder at a URL or local path (relative to the working directory), or from options:
 * `{ system: "s3", path: "/bucket/x" }`, `{ path: "ssh://host/data", name: "@/ckpts", mkdir: true }`.
 */
export function folder(init: FolderInit | string | URL = {}): Folder {
  if (typeof init === "string" || init instanceof URL) return new Folder(resolvePlace(init, { kind: "folders" }));
  if (typeof init !== "object" || init === null)
    throw new StowageError({ code: "InvalidInput", message: `folder() takes a URL, a path or options, not ${String(init)}` });
  checkOptions(init, RESOURCE_OPTIONS, "folder()");
  return new Folder(addressFromInit(init, "folders"), undefined, { name: init.name, mkdir: init.mkdir });
}
