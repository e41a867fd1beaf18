/** The checksums a copy recomputes: multipart ETags with an inferred part size, hashed as chunks stream. */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { checksumSpans, ContentHash, compositeEtag, fromSpanDigests, inferPartSize, sourceChecksum } from "../../src/transfer/checksums.js";
import { seededBytes } from "../support/seed.js";

const MiB = 1 << 20;
const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex");

/** The ETag S3 gives `bytes` uploaded in parts of `partSize`. */
function etagOf(bytes: Buffer, partSize: number): string {
  const parts: string[] = [];
  for (let offset = 0; offset < bytes.length; offset += partSize) parts.push(md5(bytes.subarray(offset, offset + partSize)));
  return compositeEtag(parts);
}

describe("checksums", () => {
  it("infers the part size only where one whole MiB of at least 5 MiB fits the size and part count", () => {
    expect(inferPartSize(11 * MiB + 1, 3)).toBe(5 * MiB);
    // The AWS CLI's 8 MiB parts of a large file: the only whole MiB that makes 126 parts.
    expect(inferPartSize(1000 * MiB + 17, 126)).toBe(8 * MiB);
    // 40 MiB in three parts: 14 to 19 MiB all fit, so nothing is assumed.
    expect(inferPartSize(40 * MiB, 3)).toBeUndefined();
    expect(inferPartSize(3 * MiB, 2)).toBeUndefined();
    expect(inferPartSize(7 * MiB, 1)).toBe(7 * MiB);
  });

  it("reads a source's checksum from its MD5 or its multipart ETag", () => {
    expect(sourceChecksum({ path: "/a", type: "file", size: 3, md5: "ABC" })).toEqual({ kind: "md5", value: "abc" });
    const etag = `${"a".repeat(32)}-3`;
    expect(sourceChecksum({ path: "/a", type: "file", size: 11 * MiB, etag })).toEqual({ kind: "etag", value: etag, partSize: 5 * MiB, parts: 3 });
    expect(sourceChecksum({ path: "/a", type: "file", size: 40 * MiB, etag })).toBeUndefined();
    expect(sourceChecksum({ path: "/a", type: "file", size: 4, etag: "0x8DABC" })).toBeUndefined();
  });

  it("hashes a stream in chunks that straddle parts into the multipart ETag", () => {
    const bytes = seededBytes(11 * MiB + 4321, 9);
    const checksum = { kind: "etag" as const, value: etagOf(bytes, 5 * MiB), partSize: 5 * MiB, parts: 3 };
    const hash = new ContentHash(checksum);
    for (let offset = 0; offset < bytes.length; offset += 777_777) hash.update(bytes.subarray(offset, offset + 777_777));
    expect(hash.digest()).toBe(checksum.value);
    // The same from the MD5s of the spans a destination digests.
    const spans = checksumSpans(checksum, bytes.length);
    expect(spans).toHaveLength(3);
    expect(
      fromSpanDigests(
        checksum,
        spans.map(({ offset, length }) => md5(bytes.subarray(offset, offset + length))),
      ),
    ).toBe(checksum.value);
    // A plain MD5 without a checksum.
    const plain = new ContentHash(undefined);
    plain.update(bytes);
    expect(plain.digest()).toBe(md5(bytes));
  });

  it("hashes a one-part multipart object as S3 does", () => {
    const bytes = seededBytes(2 * MiB, 10);
    const checksum = sourceChecksum({ path: "/a", type: "file", size: bytes.length, etag: etagOf(bytes, 5 * MiB) })!;
    const hash = new ContentHash(checksum);
    hash.update(bytes);
    expect(hash.digest()).toBe(checksum.value);
  });
});
