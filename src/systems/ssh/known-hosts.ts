/**
 * known_hosts lookup with OpenSSH's rules: plain and hashed (`|1|salt|hmac`) host fields, comma
 * lists with `*`/`?` wildcards and `!negation`, `[host]:port` for ports other than 22, `@revoked`
 * entries that reject a key, and `@cert-authority` lines, which are ignored (Stowage does not
 * verify host certificates).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { appendFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { wildcardMatch } from "./patterns.js";

export type HostKeyVerdict =
  /** A matching entry holds this key. */
  | "known"
  /** The host has an entry with a key of the same type, but a different key. */
  | "changed"
  /** This key is marked @revoked. */
  | "revoked"
  /** Nothing is known about this key type for this host. */
  | "unknown";

interface KnownHostLine {
  marker: "" | "@revoked" | "@cert-authority";
  hosts: string;
  keyType: string;
  key: Buffer;
}

/** The name known_hosts files use for a host: `host`, or `[host]:port` when the port is not 22. */
export function knownHostsName(hostName: string, port: number): string {
  return port === 22 ? hostName : `[${hostName}]:${port}`;
}

export function parseKnownHosts(text: string): KnownHostLine[] {
  const lines: KnownHostLine[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === undefined || fields[0] === "" || fields[0].startsWith("#")) continue;
    const marker = fields[0].startsWith("@") ? fields.shift()! : "";
    if (marker !== "" && marker !== "@revoked" && marker !== "@cert-authority") continue;
    const [hosts, keyType, key] = fields;
    if (!hosts || !keyType || !key) continue;
    lines.push({ marker, hosts, keyType, key: Buffer.from(key, "base64") });
  }
  return lines;
}

function readLines(files: readonly string[]): KnownHostLine[] {
  return files.flatMap((file) => {
    try {
      return parseKnownHosts(readFileSync(file, "utf8"));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
  });
}

/** Whether one host field (a comma list, or one hashed name) names `name`. */
export function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith("|1|")) return hashedMatches(field, name);
  let matched = false;
  for (const pattern of field.split(",")) {
    const negated = pattern.startsWith("!");
    if (!wildcardMatch(name, negated ? pattern.slice(1) : pattern)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

function hashedMatches(field: string, name: string): boolean {
  const [, , salt, hash] = field.split("|");
  if (!salt || !hash) return false;
  const expected = Buffer.from(hash, "base64");
  const actual = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** The key type written inside an SSH public key blob (its first string). */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return "";
  const length = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + length).toString("latin1");
}

export class KnownHosts {
  readonly #lines: KnownHostLine[];

  /** Reads every file now; later appends by this process are not re-read. */
  constructor(readonly files: readonly string[]) {
    this.#lines = readLines(files);
  }

  /** Judges a host key the server presented for `name` (from `knownHostsName`). */
  check(name: string, key: Buffer): HostKeyVerdict {
    const keyType = keyTypeOf(key);
    const entries = this.#lines.filter((line) => line.marker !== "@cert-authority" && hostFieldMatches(line.hosts, name));
    if (entries.some((line) => line.marker === "@revoked" && line.key.equals(key))) return "revoked";
    const plain = entries.filter((line) => line.marker === "");
    if (plain.some((line) => line.key.equals(key))) return "known";
    if (plain.some((line) => line.keyType === keyType)) return "changed";
    return "unknown";
  }

  /** Key types already recorded for `name`, so the handshake can ask for one of those first. */
  keyTypesFor(name: string): string[] {
    const types = this.#lines.filter((line) => line.marker === "" && hostFieldMatches(line.hosts, name)).map((line) => line.keyType);
    return [...new Set(types)];
  }
}

/** Appends a key for `name` to `file` (creating it and its directory), as `ssh` does on accept-new. */
export function appendKnownHost(file: string, name: string, key: Buffer): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const line = `${name} ${keyTypeOf(key)} ${key.toString("base64")}\n`;
  let needsNewline = false;
  try {
    const existing = readFileSync(file);
    needsNewline = existing.length > 0 && existing[existing.length - 1] !== 0x0a;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  appendFileSync(file, (needsNewline ? "\n" : "") + line, { mode: 0o600 });
}
