/**
 * Addresses: where a resource lives, as a system's name, a path within it and what selects the
 * connection. Parsed and formatted by each system's descriptor (systems/addresses.ts).
 */
import type { Credentials } from "./credentials.js";

export interface Address {
  /** The system's name: "file", "ssh", "s3", "gs", "azure", "github". */
  system: string;
  /** Absolute path within the system (see systems/contract.ts). */
  path: string;
  /** ssh: host name or ~/.ssh/config alias. */
  host?: string;
  /** ssh: login name. */
  user?: string;
  /** ssh: port. */
  port?: number;
  /** azure: storage account, when not taken from the environment. */
  account?: string;
  /** github: server base URL, e.g. "https://github.example.com". */
  server?: string;
  /** Explicit credentials, in memory only (see credentials.ts): never formatted, printed or saved. */
  credentials?: Credentials;
}

/** What callers may pass wherever an address is expected. */
export type AddressInput = string | URL | (Partial<Omit<Address, "system">> & { system: string });
