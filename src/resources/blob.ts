/** A Blob: one file on any system. */
import type { Readable } from "node:stream";
import type { Address } from "../address.js";
import { StowageError, isStowageError } from "../errors.js";
import { readAll } from "../systems/body.js";
import type { Stat, WriteBody } from "../systems/contract.js";
import type { TransferOptions, TransferReport } from "../transfer/types.js";
import { Resource } from "./resource.js";
import { resolvePlace, type Place, type PlaceInit } from "./location.js";
import { toByteRange, type OpenOptions } from "./ranges.js";
import { transferBetween } from "./transfer.js";

export interface BlobInit extends PlaceInit {
  /** Content to store with `write()`. */
  data?: WriteBody;
}

export class Blob extends Resource {
  data: WriteBody | undefined;
  readonly report: TransferReport | undefined;

  constructor(address: Address, data?: WriteBody, report?: TransferReport) {
    super(address);
    this.data = data;
    this.report = report;
  }

  /** Stores `data` (or the blob's own data); replaces what was there unless `overwrite: false`. */
  async write(data: WriteBody | undefined = this.data, options: { overwrite?: boolean; signal?: AbortSignal } = {}): Promise<this> {
    if (data === undefined) throw new StowageError({ code: "InvalidInput", path: this.path, message: "the blob has no data to write" });
    await (await this.system()).write(this.path, data, options);
    this.data = data;
    return this;
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
    return (await this.system()).read(this.path, { ...(range ? { range } : {}), ...(options.signal ? { signal: options.signal } : {}) });
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
    await (await this.system()).delete([this.path]);
  }

  /** Copies the blob to another file path (a cluster or bare system name gets a default path). */
  async to(destination: Place | PlaceInit, options: TransferOptions & { path?: string } = {}): Promise<Blob> {
    const { path, ...transferOptions } = options;
    const target = resolvePlace(destination, { path, kind: "blobs", name: this.name });
    const report = await transferBetween(this.address, target, transferOptions);
    return new Blob(target, undefined, report);
  }

  toJSON(): { kind: "blob"; url: string } {
    return { kind: "blob", url: this.url };
  }
}

/** A blob at a place, optionally with data to `write()`; without a path, a default location. */
export function blob(init: BlobInit | Place = {}): Blob {
  if (typeof init === "object" && init !== null && !(init instanceof URL) && "data" in init) {
    const { data, ...place } = init;
    return new Blob(resolvePlace(place, { kind: "blobs" }), data);
  }
  return new Blob(resolvePlace(init as Place, { kind: "blobs" }));
}
