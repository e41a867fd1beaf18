/** A Blob: one file on any system. */
import type { Readable } from "node:stream";
import type { Address } from "../address.js";
import { StowageError, isStowageError } from "../errors.js";
import { savedAddress, type RecordBody } from "../registry/index.js";
import { parentPath } from "../systems/paths.js";
import { readAll } from "../systems/body.js";
import type { Stat, WriteBody } from "../systems/contract.js";
import type { TransferOptions, TransferReport } from "../transfer/types.js";
import { Resource, type ResourceOptions } from "./resource.js";
import { RESOURCE_OPTIONS, addressFromInit, checkOptions, resolvePlace, type Place, type ResourceInit } from "./location.js";
import { loadAs } from "./named.js";
import { toByteRange, type OpenOptions } from "./ranges.js";
import { readRange } from "../systems/extensions.js";
import { transferBetween } from "../transfer/between.js";

export interface BlobInit extends ResourceInit {
  /** Content to store with `write()` (or `save()`). */
  data?: WriteBody;
}

const BLOB_OPTIONS = [...RESOURCE_OPTIONS, "data"];

export class Blob extends Resource {
  readonly resourceType = "blob" as const;
  data: WriteBody | undefined;
  readonly report: TransferReport | undefined;
  /** Whether `data` is stored (written here, or the blob was loaded from where it is). */
  #written: boolean;

  constructor(address: Address, data?: WriteBody, report?: TransferReport, options: ResourceOptions = {}) {
    super(address, options);
    this.data = data;
    this.report = report;
    this.#written = data === undefined;
  }

  /** The blob saved under `name` (`"my_blob"`, `"@/models/bert@2"`). */
  static fromName(name: string): Promise<Blob> {
    return loadAs<Blob>(name, "blob");
  }

  /** Stores `data` (or the blob's own data); replaces what was there unless `overwrite: false`. */
  async write(data: WriteBody | undefined = this.data, options: { overwrite?: boolean; signal?: AbortSignal } = {}): Promise<this> {
    if (data === undefined) throw new StowageError({ code: "InvalidInput", path: this.path, message: "the blob has no data to write" });
    const system = await this.writableSystem("write");
    if (this.createFolder) await system.mkdir(parentPath(this.path));
    await system.write(this.path, data, options);
    this.data = data;
    this.#written = true;
    return this;
  }

  async writePending(): Promise<void> {
    if (!this.#written) await this.write();
  }

  async recordBody(): Promise<RecordBody> {
    return { type: "blob", address: savedAddress(this.address), url: this.url };
  }

  /** The stored content as a Buffer, or a string with an encoding. */
  fetch(): Promise<Buffer>;
  fetch(encoding: BufferEncoding): Promise<string>;
  async fetch(encoding?: BufferEncoding): Promise<Buffer | string> {
    const bytes = await readAll(await this.open());
    return encoding ? bytes.toString(encoding) : bytes;
  }

  /** The stored content as a stream; `{ start, end }` reads a range (end inclusive). */
  async open(options: OpenOptions = {}): Promise<Readable> {
    const range = toByteRange(options);
    return readRange(await this.system(), this.path, range, options.signal ? { signal: options.signal } : {});
  }

  async stat(): Promise<Stat> {
    return (await this.system()).stat(this.path);
  }

  async exists(): Promise<boolean> {
    try {
      return (await this.stat()).type === "file";
    } catch (error) {
      if (isStowageError(error, "NotFound")) return false;
      throw error;
    }
  }

  async rm(): Promise<void> {
    await (await this.writableSystem("delete")).delete([this.path]);
  }

  /** Copies the blob to another file path (a cluster or bare system name gets a default path). */
  async to(destination: Place, options: TransferOptions & { path?: string } = {}): Promise<Blob> {
    const { path, ...transferOptions } = options;
    const target = resolvePlace(destination, { path, kind: "blobs", name: this.baseName });
    const report = await transferBetween(this.address, target, transferOptions);
    return new Blob(target, undefined, report);
  }

  toJSON(): { kind: "blob"; url: string } {
    return { kind: "blob", url: this.url };
  }
}

/**
 * A blob at a URL or path, or from options: `{ data, path: "az://models/model.bin" }`,
 * `{ data, name: "my_blob" }`, `{ system: "s3", path: "/bucket/key" }`. Without a path, a default
 * location (named after `name` when given).
 */
export function blob(init: BlobInit | string | URL = {}): Blob {
  if (typeof init === "string" || init instanceof URL) return new Blob(resolvePlace(init, { kind: "blobs" }));
  if (typeof init !== "object" || init === null)
    throw new StowageError({ code: "InvalidInput", message: `blob() takes a URL, a path or options, not ${String(init)}` });
  checkOptions(init, BLOB_OPTIONS, "blob()");
  const { data, name, mkdir } = init;
  return new Blob(addressFromInit(init, "blobs"), data, undefined, { name, mkdir });
}
