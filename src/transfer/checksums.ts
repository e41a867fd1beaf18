/**
 * What a copy checks a file's content against, and hashing it as it streams. A source's checksum
 * is its MD5 where the provider keeps one for the whole object, or an S3 multipart ETag ("<MD5 of
 * the parts' MD5s>-<parts>"), recomputed with the part size the size and part count pin down.
 */
import { createHash, type Hash } from "node:crypto";
import { StowageError } from "../errors.js";
import type { ByteSpan, Stat, System } from "../systems/contract.js";

const MiB = 1 << 20;
/** S3 refuses smaller parts (but the last), so no multipart object has them. */
const MIN_PART = 5 * MiB;

/** The source's own checksum of a file's content, in a form a copy can recompute. */
export type SourceChecksum = { kind: "md5"; value: string } | { kind: "etag"; value: string; partSize: number; parts: number };

/**
 * The part size of a `size`-byte object uploaded in `parts` parts: the one whole number of MiB (at
 * least S3's 5 MiB minimum) that cuts it into that many parts, or undefined when several or none
 * do (tools pick whole MiB: the AWS CLI 8, Stowage 16). A multipart ETag is checked only then.
 */
export function inferPartSize(size: number, parts: number): number | undefined {
  if (!Number.isSafeInteger(parts) || parts < 1 || !Number.isSafeInteger(size)) return undefined;
  if (parts === 1) return Math.max(size, 1);
  let found: number | undefined;
  for (let partSize = Math.max(MIN_PART, Math.ceil(size / parts / MiB) * MiB); (parts - 1) * partSize < size; partSize += MiB) {
    if (size > parts * partSize) continue;
    if (found !== undefined) return undefined;
    found = partSize;
  }
  return found;
}

/** What `from` says its content hashes to, where a copy can recompute it. */
export function sourceChecksum(from: Stat): SourceChecksum | undefined {
  if (from.md5) return { kind: "md5", value: from.md5.toLowerCase() };
  const multipart = from.etag === undefined ? null : /^([0-9a-f]{32})-(\d+)$/i.exec(from.etag);
  if (!multipart) return undefined;
  const parts = Number(multipart[2]);
  const partSize = inferPartSize(from.size, parts);
  return partSize === undefined ? undefined : { kind: "etag", value: from.etag!.toLowerCase(), partSize, parts };
}

/** The multipart ETag of parts with these MD5s (hex). */
export function compositeEtag(partMd5s: readonly string[]): string {
  const hash = createHash("md5");
  for (const md5 of partMd5s) hash.update(Buffer.from(md5, "hex"));
  return `${hash.digest("hex")}-${partMd5s.length}`;
}

/** The ranges whose MD5s make up `checksum` of a `size`-byte file: the whole file, or each part. */
export function checksumSpans(checksum: SourceChecksum, size: number): ByteSpan[] {
  if (checksum.kind === "md5") return [{ offset: 0, length: size }];
  const spans: ByteSpan[] = [];
  for (let offset = 0; offset < size || spans.length === 0; offset += checksum.partSize)
    spans.push({ offset, length: Math.min(checksum.partSize, size - offset) });
  return spans;
}

/** `checksum` recomputed from the MD5s of its checksumSpans. */
export function fromSpanDigests(checksum: SourceChecksum, md5s: readonly string[]): string {
  return checksum.kind === "md5" ? md5s[0]! : compositeEtag(md5s);
}

/**
 * Hashes bytes as they stream from the start of a file, into what `checksum` is (an MD5, or a
 * multipart ETag part by part); with no checksum, into the MD5 of what was read.
 */
export class ContentHash {
  readonly #partSize: number;
  readonly #etag: boolean;
  #current: Hash = createHash("md5");
  #inPart = 0;
  readonly #parts: string[] = [];

  constructor(checksum: SourceChecksum | undefined) {
    this.#etag = checksum?.kind === "etag";
    this.#partSize = checksum?.kind === "etag" ? checksum.partSize : Infinity;
  }

  update(chunk: Uint8Array): void {
    if (!this.#etag) {
      this.#current.update(chunk);
      return;
    }
    let at = 0;
    while (at < chunk.length) {
      const take = Math.min(chunk.length - at, this.#partSize - this.#inPart);
      this.#current.update(at === 0 && take === chunk.length ? chunk : chunk.subarray(at, at + take));
      at += take;
      this.#inPart += take;
      if (this.#inPart === this.#partSize) {
        this.#parts.push(this.#current.digest("hex"));
        this.#current = createHash("md5");
        this.#inPart = 0;
      }
    }
  }

  /** The MD5 (hex), or the multipart ETag; once. */
  digest(): string {
    if (!this.#etag) return this.#current.digest("hex");
    if (this.#inPart > 0 || this.#parts.length === 0) this.#parts.push(this.#current.digest("hex"));
    return compositeEtag(this.#parts);
  }
}

/**
 * The content that arrived is not what was sent: retryable, and the copy leaves nothing under the
 * name (nor a part file to resume, since where it went wrong is unknown).
 */
export function contentMismatch(destination: System, path: string, message: string): StowageError {
  return new StowageError({ code: "Conflict", retryable: true, system: destination.name, operation: "verify", path, message });
}

/** Whether `error` says a copy's content or size did not check out (see contentMismatch). */
export const isMismatch = (error: unknown): boolean => error instanceof StowageError && error.operation === "verify";
