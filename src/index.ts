/**
 * Stowage's public API. Everything a user or the CLI may touch is exported here and nowhere else.
 */
import type { AddressInput } from "./address.js";
import { parseAddress } from "./systems/addresses.js";
import type { System } from "./systems/contract.js";
import { systems } from "./systems/registry.js";

export { StowageError, isStowageError, type ErrorCode } from "./errors.js";
export { VERSION } from "./version.js";
export type { Address, AddressInput } from "./address.js";
export { parseAddress, formatAddress, isSystemName } from "./systems/addresses.js";
export { describeSystems, type SystemSetup } from "./systems/setup.js";
export { configPath, type StowageConfig } from "./config.js";
export { loadConfig } from "./systems/config.js";
export { canWrite, has, need, readRange, writable } from "./systems/extensions.js";
export type {
  ByteRange,
  Extensions,
  ExtensionName,
  Semantics,
  Writes,
  CopyOptions,
  CredentialScope,
  DeleteOptions,
  Entry,
  EntryType,
  ExportedCredentials,
  ExecOptions,
  ExecResult,
  ListOptions,
  ReadOptions,
  Stat,
  System,
  SystemName,
  WriteBody,
  WriteOptions,
  WriteResult,
} from "./systems/contract.js";

/**
 * The storage system behind an address, for direct low-level access (stat, list, read, write…).
 * Connections are shared per host or endpoint; `closeSystems()` ends them all.
 */
export function openSystem(address: AddressInput): Promise<System> {
  return systems.open(parseAddress(address));
}

/**
 * Closes every connection Stowage opened (SSH sessions, HTTP agents). Optional: an idle connection
 * never keeps the process alive, and an SSH session idle for a minute closes by itself.
 */
export function closeSystems(): Promise<void> {
  return systems.closeAll();
}

export { folder, Folder, type FolderEntry, type FolderInit, type LsOptions, type ToOptions } from "./resources/folder.js";
export { blob, Blob, type BlobInit } from "./resources/blob.js";
export { cluster, Cluster, type ClusterInit } from "./resources/cluster.js";
export { copy, sync } from "./resources/transfer.js";
export {
  load,
  list,
  registries,
  remove,
  type HistoryEntry,
  type ListOptions as NameListOptions,
  type NameEntry,
  type NamedResource,
  type RemoveOptions,
  type SaveOptions,
} from "./resources/named.js";
export type { Place, PlaceInit, ResourceInit } from "./resources/location.js";
export type { AzureCredentials, CredentialsInput, GsCredentials, S3Credentials, SshCredentials } from "./systems/catalog.js";
export type { OpenOptions } from "./resources/ranges.js";
export { TransferError } from "./transfer/engine.js";
export type { FileResult, FileStatus, ProgressEvent, SkipMode, TransferOptions, TransferReport, WhereRan } from "./transfer/types.js";

export {
  Table,
  table,
  type Compression,
  type FetchOptions,
  type FetchResult,
  type Filter,
  type FilterClause,
  type FilterOp,
  type FilterValue,
  type OutputFormat,
  type Row,
  type StreamItem,
  type StreamOptions,
  type TableData,
  type TableLocation,
  type TableOptions,
  type TableReadOptions,
  type TableWriteOptions,
} from "./resources/table/index.js";
