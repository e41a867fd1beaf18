/**
 * S3 specifics of resumable multipart uploads (the shared behaviour is in the conformance suite):
 * the parts of an upload cut by a dropped connection stay pending on the server until discarded,
 * while aborts and failures that will not pass leave no pending upload.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import type { FullSystem } from "../support/full-system.js";
import { Readable } from "node:stream";
import { beforeAll, describe, expect, it } from "vitest";
import type { ResumableUploads, UploadState } from "../../src/systems/contract.js";
import { abortingStream, seededBytes } from "../support/seed.js";
import { codeOf, MiB, pendingUploads, useTestBucket } from "./s3-helpers.js";

const testBucket = useTestBucket("resume");
const BUCKET = testBucket.bucket;
const SIZE = 23 * MiB;
const PART = 5 * MiB;
const content = seededBytes(SIZE, 77);
let stowage: FullSystem;
let uploads: ResumableUploads;
let raw: S3Client;

/** Sends `content` from `offset` in 1 MiB chunks; with `failAt`, fails there like a dropped connection. */
function body(offset: number, failAt?: number): Readable & { sent(): number } {
  let at = offset;
  const stream = new Readable({
    read() {
      if (failAt !== undefined && at >= failAt) {
        return void this.destroy(Object.assign(new Error("connection reset by peer"), { code: "ECONNRESET" }));
      }
      if (at >= SIZE) return void this.push(null);
      const end = Math.min(SIZE, at + MiB, failAt ?? SIZE);
      this.push(content.subarray(at, end));
      at = end;
    },
  });
  return Object.assign(stream, { sent: () => at - offset });
}

/** Writes until the body fails at `failAt`, returning the state the upload saved. */
async function interruptedWrite(path: string, failAt: number): Promise<UploadState> {
  const saved: UploadState[] = [];
  const code = await codeOf(stowage.write(path, body(0, failAt), { partSize: PART, concurrency: 1, checkpoint: { save: (state) => saved.push(state) } }));
  expect(code).toBe("Unavailable");
  expect(saved).toHaveLength(1);
  return saved[0]!;
}

beforeAll(() => {
  stowage = testBucket.stowage();
  raw = testBucket.raw();
  uploads = stowage.uploads!;
});

describe("s3 resumable uploads", () => {
  it("keeps the whole parts of an upload cut by a dropped connection, until it is discarded", async () => {
    const path = `/${BUCKET}/cut/object.bin`;
    const state = await interruptedWrite(path, 17 * MiB);
    expect(await pendingUploads(raw, BUCKET, "cut/")).toEqual(["cut/object.bin"]);
    // Three whole 5 MiB parts landed before the body failed at 17 MiB.
    expect(await uploads.offset(path, state, { size: SIZE })).toBe(3 * PART);
    // Of a 20 MiB object, four parts would be all of it: the last stays to be sent.
    expect(await uploads.offset(path, state, { size: 20 * MiB })).toBe(3 * PART);
    expect(await uploads.offset(path, state, { size: 15 * MiB })).toBe(2 * PART);
    await uploads.discard(path, state);
    expect(await pendingUploads(raw, BUCKET, "cut/")).toEqual([]);
    expect(await uploads.offset(path, state, { size: SIZE })).toBe(0);
  });

  it("still aborts the upload when the caller aborts, even with a checkpoint", async () => {
    const path = `/${BUCKET}/aborted/object.bin`;
    const { stream, signal } = abortingStream(SIZE, 12 * MiB);
    const saved: UploadState[] = [];
    const code = await codeOf(stowage.write(path, stream, { partSize: PART, signal, checkpoint: { save: (state) => saved.push(state) } }));
    expect(code).toBe("Aborted");
    expect(saved).toHaveLength(1);
    expect(await pendingUploads(raw, BUCKET, "aborted/")).toEqual([]);
    expect(await uploads.offset(path, saved[0]!, { size: SIZE })).toBe(0);
  });

  it("aborts the upload on a failure that will not pass (a broken body), even with a checkpoint", async () => {
    const path = `/${BUCKET}/broken/object.bin`;
    let sent = 0;
    const broken = new Readable({
      read() {
        if (sent >= 12 * MiB) return void this.destroy(new Error("the generator threw"));
        this.push(content.subarray(sent, (sent += MiB)));
      },
    });
    const saved: UploadState[] = [];
    await codeOf(stowage.write(path, broken, { partSize: PART, checkpoint: { save: (state) => saved.push(state) } }));
    expect(saved).toHaveLength(1);
    expect(await pendingUploads(raw, BUCKET, "broken/")).toEqual([]);
  });
});
