/**
 * Stowage's public API. Everything a user or the CLI may touch is exported here and nowhere else.
 */
import { parseAddress, type AddressInput } from "./address.js";
import type { System } from "./systems/contract.js";
import { systems } from "./systems/registry.js";

export { StowageError, isStowageError, type ErrorCode } from "./errors.js";
export { parseAddress, formatAddress, type Address, type AddressInput } from "./address.js";
export { configPath, loadConfig, type StowageConfig } from "./config.js";
export type {
  ByteRange,
  Capabilities,
  CopyOptions,
  DeleteOptions,
  Entry,
  EntryType,
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

/** Closes every connection Stowage opened (SSH sessions, HTTP agents). */
export function closeSystems(): Promise<void> {
  return systems.closeAll();
}
