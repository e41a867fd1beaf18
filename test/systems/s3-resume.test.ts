/**
 * Resumable multipart uploads against the real server: a write that fails on a dropped connection
 * keeps its finished parts and saves its upload id; `uploads.offset` reports the whole parts the
 * server holds and a write with `resume` sends only the rest; aborts, non-retryable failures and
 * `discard` leave nothing behind.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAddress } from "../../src/address.js";
import type { ResumableUploads, System, UploadState } from "../../src/systems/contract.js";
import { SystemRegistry } from "../../src/systems/registry.js";
import { sha256, sha256Of } from "../support/measure.js";
import { abortingStream, seededBytes } from "../support/seed.js";
import { codeOf, MiB, pendingUploads, rawClient, uniqueBucket } from "./s3-helpers.js";

const BUCKET = uniqueBucket("resume");
const SIZE = 23 * MiB;
const PART = 5 * MiB;
const content = seededBytes(SIZE, 77);
const registry = new SystemRegistry();
let stowage: System;
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

beforeAll(async () => {
  stowage = await registry.open(parseAddress(`s3://${BUCKET}`));
  uploads = stowage.uploads!;
  raw = rawClient();
  await stowage.write(`/${BUCKET}/.keep`, "");
});

afterAll(async () => {
  await stowage.delete([`/${BUCKET}`], { recursive: true });
  raw.destroy();
  await registry.closeAll();
});

describe("s3 resumable uploads", () => {
  it("keeps the finished parts of an upload cut by a dropped connection, and a resumed write sends only the rest", async () => {
    const path = `/${BUCKET}/cut/object.bin`;
    // Three whole 5 MiB parts land before the body fails at 17 MiB.
    const state = await interruptedWrite(path, 17 * MiB);
    expect(await codeOf(stowage.stat(path))).toBe("NotFound");
    expect(await pendingUploads(raw, BUCKET, "cut/")).toHaveLength(1);

    const offset = await uploads.offset(path, state, { size: SIZE });
    expect(offset).toBe(3 * PART);
    const rest = body(offset);
    const written = await stowage.write(path, rest, { partSize: PART, checkpoint: { resume: { state, offset }, save: () => undefined } });
    expect(written.size).toBe(SIZE);
    expect(rest.sent()).toBe(SIZE - offset);
    const read = await sha256Of(await stowage.read(path));
    expect(read).toEqual({ sha256: sha256(content), size: SIZE });
    expect(await pendingUploads(raw, BUCKET, "cut/")).toEqual([]);
  });

  it("never offers the part holding the last byte, so a resumed write always completes the upload itself", async () => {
    const path = `/${BUCKET}/whole/object.bin`;
    // 20 MiB are four whole parts of a 20 MiB object: only three may be reused.
    const state = await interruptedWrite(path, 20 * MiB);
    expect(await uploads.offset(path, state, { size: 20 * MiB })).toBe(3 * PART);
    await uploads.discard(path, state);
  });

  it("reuses nothing for another object's upload, a discarded upload, or a state from another system", async () => {
    const path = `/${BUCKET}/discard/object.bin`;
    const state = await interruptedWrite(path, 12 * MiB);
    expect(await uploads.offset(`/${BUCKET}/discard/other.bin`, state, { size: SIZE })).toBe(0);
    expect(await uploads.offset(path, { kind: "azure-blocks", id: "x" }, { size: SIZE })).toBe(0);
    await uploads.discard(path, state);
    await uploads.discard(path, state); // already gone: still fine
    expect(await pendingUploads(raw, BUCKET, "discard/")).toEqual([]);
    expect(await uploads.offset(path, state, { size: SIZE })).toBe(0);
  });

  it("refuses a resume whose offset the upload does not hold, with a retryable Conflict and nothing written", async () => {
    const path = `/${BUCKET}/conflict/object.bin`;
    const state = await interruptedWrite(path, 12 * MiB);
    const error = await stowage
      .write(path, body(3 * PART), { partSize: PART, checkpoint: { resume: { state, offset: 3 * PART }, save: () => undefined } })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "StowageError", code: "Conflict", retryable: true });
    expect(await codeOf(stowage.stat(path))).toBe("NotFound");
    await uploads.discard(path, state);
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
