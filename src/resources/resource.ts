/** What every stored resource has: an address, its URL, a name to save it under, and its system. */
import { type Address } from "../address.js";
import { formatAddress } from "../systems/addresses.js";
import type { System } from "../systems/contract.js";
import { writable, type Writable } from "../systems/extensions.js";
import { baseName } from "../systems/paths.js";
import { systems } from "../systems/registry.js";
import type { HistoryEntry, Nameable, SaveOptions } from "./named.js";
import { historyOf, saveResource } from "./named.js";
import type { RecordBody } from "../registry/index.js";

export interface ResourceOptions {
  name?: string | undefined;
  mkdir?: boolean | undefined;
}

export abstract class Resource implements Nameable {
  readonly address: Address;
  /** The name `save()` records the resource under, e.g. "@/bert_tokenized"; undefined until given. */
  name: string | undefined;
  /** The version `save()` or `load()` last saw of `name`. */
  version: number | undefined;
  /** Create the folder (or the file's parent) before the first write. */
  protected readonly createFolder: boolean;

  constructor(address: Address, options: ResourceOptions = {}) {
    this.address = address;
    this.name = options.name;
    this.createFolder = options.mkdir ?? false;
  }

  get url(): string {
    return formatAddress(this.address);
  }

  get path(): string {
    return this.address.path;
  }

  /** The last segment of the path: the default name of a copy made by `to()`. */
  get baseName(): string {
    return baseName(this.address.path);
  }

  protected system(): Promise<System> {
    return systems.open(this.address);
  }

  /** The system, known to store data; `Unsupported` for `operation` where it is read-only. */
  protected async writableSystem(operation: string): Promise<Writable> {
    return writable(await this.system(), operation, this.path);
  }

  /**
   * Records the resource under `name` (default: its own), as a new version, after writing data it
   * was given and never wrote. Returns the resource, now carrying that name and version.
   */
  async save(name?: string, options: SaveOptions = {}): Promise<this> {
    await saveResource(this, name, options);
    return this;
  }

  /** Every saved version of the resource's name, oldest first. */
  history(): Promise<HistoryEntry[]> {
    return historyOf(this);
  }

  /** Writes what was given and never written (called by `save()`). */
  abstract writePending(): Promise<void>;
  /** The type, address and details the registry records. */
  abstract recordBody(): Promise<RecordBody>;
}
