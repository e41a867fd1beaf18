/**
 * What the registry stores for one version of a name, and how that version's object is keyed.
 *
 * Each save writes one new object, `<name>/@v/<key>`, and never touches another, so concurrent
 * savers cannot overwrite each other on any system, with or without conditional writes. The key
 * sorts the versions and, for listings, carries the type and address, so a listing needs no GETs:
 *
 *   v000004-1764950400123-9f2c41d7-table-s3%3A%2F%2Fds%2Fbert_preproc.json
 *   │       │             │        │     └ the data's URL, percent-encoded ("_" when too long)
 *   │       │             │        └ resource type
 *   │       │             └ random, breaks ties between savers of the same claim and millisecond
 *   │       └ saved at, ms since the epoch
 *   └ claim: one more than the highest claim the saver saw
 *
 * Version numbers are not stored: version N is the N-th key in (claim, time, random) order.
 */
import { randomBytes } from "node:crypto";
import type { Address } from "../address.js";
import { StowageError } from "../errors.js";

export const RECORD_FORMAT = 1;

export type ResourceType = "table" | "blob" | "folder" | "cluster";
export const RESOURCE_TYPES: readonly ResourceType[] = ["table", "blob", "folder", "cluster"];

/** The address fields a record keeps: where the data is, never how to authenticate. */
export type SavedAddress = Omit<Address, "system" | "credentials"> & { system: string };

export interface SavedField {
  name: string;
  type: string;
  nullable: boolean;
}

export interface SavedRecord {
  format: number;
  name: string;
  type: ResourceType;
  address: SavedAddress;
  /** The data's URL, for people reading the registry. */
  url: string;
  savedAt: string;
  savedBy: string;
  /** Constructor options worth restoring (a table's partition columns). */
  options?: Record<string, unknown>;
  table?: { schema: SavedField[]; rows: number; metadata: Record<string, unknown> };
  note?: string;
}

/** What a version's key says without reading the object. */
export interface VersionKey {
  key: string;
  claim: number;
  savedAtMs: number;
  random: string;
  type: ResourceType;
  /** The data's URL, when it fit in the key. */
  url: string | undefined;
}

const ADDRESS_FIELDS = ["system", "path", "host", "user", "port", "account", "server"] as const;

/** The allowlisted address fields; anything else an address carries (credentials) stays out. */
export function savedAddress(address: { readonly [K in (typeof ADDRESS_FIELDS)[number]]?: unknown }): SavedAddress {
  const saved: Record<string, unknown> = {};
  for (const field of ADDRESS_FIELDS) {
    const value = address[field];
    if (value !== undefined) saved[field] = value;
  }
  return saved as unknown as SavedAddress;
}

/** Keeps a key segment under 255 bytes (a file name) with room for the rest of the key. */
const MAX_URL_IN_KEY = 180;

function encodeUrl(url: string): string {
  const encoded = encodeURIComponent(url).replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return encoded.length <= MAX_URL_IN_KEY ? encoded : "_";
}

export function versionKey(claim: number, type: ResourceType, url: string, now: number = Date.now()): string {
  return `v${String(claim).padStart(6, "0")}-${String(now).padStart(13, "0")}-${randomBytes(4).toString("hex")}-${type}-${encodeUrl(url)}.json`;
}

const KEY = /^v(\d{6,})-(\d{13,})-([0-9a-f]{8})-([a-z]+)-(.+)\.json$/;

/** Parses a version key; undefined for anything else found in the folder (ignored). */
export function parseVersionKey(key: string): VersionKey | undefined {
  const match = KEY.exec(key);
  if (!match || !RESOURCE_TYPES.includes(match[4] as ResourceType)) return undefined;
  let url: string | undefined;
  if (match[5] !== "_") {
    try {
      url = decodeURIComponent(match[5]!);
    } catch {
      return undefined;
    }
  }
  return { key, claim: Number(match[1]), savedAtMs: Number(match[2]), random: match[3]!, type: match[4] as ResourceType, url };
}

export function compareVersions(a: VersionKey, b: VersionKey): number {
  return a.claim - b.claim || a.savedAtMs - b.savedAtMs || (a.random < b.random ? -1 : a.random > b.random ? 1 : 0);
}

/** Parses a stored record, refusing what a newer Stowage wrote instead of misreading it. */
export function parseRecord(bytes: Buffer, where: string): SavedRecord {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    throw new StowageError({ code: "Unexpected", operation: "load", path: where, message: `registry record ${where} is not JSON`, cause: error });
  }
  const record = value as Partial<SavedRecord> | null;
  if (typeof record !== "object" || record === null || typeof record.format !== "number") {
    throw new StowageError({ code: "Unexpected", operation: "load", path: where, message: `registry record ${where} has no format version` });
  }
  if (record.format > RECORD_FORMAT) {
    throw new StowageError({
      code: "Unsupported",
      operation: "load",
      path: where,
      message: `registry record ${where} has format ${record.format}, newer than this Stowage reads (${RECORD_FORMAT}): upgrade Stowage`,
    });
  }
  if (!RESOURCE_TYPES.includes(record.type as ResourceType) || typeof record.address?.system !== "string" || typeof record.address.path !== "string") {
    throw new StowageError({ code: "Unexpected", operation: "load", path: where, message: `registry record ${where} is incomplete` });
  }
  return record as SavedRecord;
}
