/**
 * GCS uploads as chunked resumable sessions that continue from the last persisted byte.
 *
 * Said plainly: these tests do NOT run against the firebase-tools emulator the other gs tests use.
 * That emulator finalizes a resumable upload at its first PUT whatever its Content-Range says (so
 * a session cannot stay open between chunks, and a status query would finalize an empty object);
 * against it the gs system keeps single-request uploads and has no `uploads` extension. Here the
 * system talks, through its `gs.endpoint` option and a bearer token, to a small protocol server in
 * the tests (test/support/gcs-protocol-server.ts) that implements the resumable protocol as Google
 * documents it: initiate, chunk PUTs with Content-Range, 308 + Range, status queries, partial
 * persistence of a cut chunk, X-Goog-Hash checked at the last chunk, final metadata with md5Hash
 * and crc32c. It is the protocol, not GCS itself.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isStowageError } from "../../src/errors.js";
import { TransferError, closeSystems, copy, type TransferReport } from "../../src/index.js";
import { parseAddress } from "../../src/systems/addresses.js";
import type { UploadState } from "../../src/systems/contract.js";
import { crc32c } from "../../src/systems/gs/crc32c.js";
import { createGsSystem } from "../../src/systems/gs/system.js";
import { full, type FullSystem } from "../support/full-system.js";
import { startGcsProtocolServer, type GcsProtocolServer } from "../support/gcs-protocol-server.js";
import { tempDir } from "../support/process.js";
import { seededBytes } from "../support/seed.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";

const MiB = 1 << 20;
const KiB = 1024;
const TOKEN = "protocol-test-token";
const BUCKET = "resumable";
/** What the system's environment must say to reach the protocol server as a real endpoint would be reached. */
const ENV = { STORAGE_EMULATOR_HOST: undefined, STOWAGE_GS_ACCESS_TOKEN: TOKEN, GOOGLE_CLOUD_PROJECT: "demo-test" };

let server: GcsProtocolServer;
let proxy: TcpProxy;
let direct: FullSystem;
let proxied: FullSystem;

/** A gs system for `endpoint`, built while the environment says what ENV says (the SDK reads it at construction). */
function gsSystem(endpoint: string): FullSystem {
  const saved = Object.fromEntries(Object.keys(ENV).map((k) => [k, process.env[k]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(ENV);
  try {
    return full(createGsSystem(parseAddress(`gs://${BUCKET}`), { gs: { endpoint } }));
  } finally {
    apply(saved);
  }
}

/** `content` in `size`-byte pieces. */
function piecesOf(content: Buffer, size = 300 * KiB): Buffer[] {
  const pieces: Buffer[] = [];
  for (let at = 0; at < content.length; at += size) pieces.push(content.subarray(at, at + size));
  return pieces;
}

function streamOf(content: Buffer): Readable {
  return Readable.from(piecesOf(content), { objectMode: false });
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isStowageError(error)) throw new Error(`expected a StowageError, got ${String(error)}`, { cause: error });
  return error.code;
}

const md5 = (bytes: Buffer) => createHash("md5").update(bytes).digest("hex");

beforeAll(async () => {
  server = await startGcsProtocolServer({ token: TOKEN });
  proxy = await startTcpProxy(Number(new URL(server.url).port));
  direct = gsSystem(server.url);
  proxied = gsSystem(`http://127.0.0.1:${proxy.port}`);
});

afterAll(async () => {
  await proxy?.close();
  await server?.close();
});

describe("gs chunked resumable uploads (against the protocol server)", () => {
  it("computes CRC32C as GCS does", () => {
    // The check value of CRC-32C, and the same over pieces carried from one to the next.
    expect(crc32c(Buffer.from("123456789"))).toBe(0xe3069283);
    const bytes = seededBytes(100_003, 3);
    expect(crc32c(bytes.subarray(40_001), crc32c(bytes.subarray(0, 40_001)))).toBe(crc32c(bytes));
  });

  it("has resumable uploads where the endpoint holds sessions open", () => {
    expect(direct.uploads).toBeDefined();
  });

  it("lands a multi-chunk upload byte for byte, one session, every byte sent once", async () => {
    for (const size of [0, MiB, 10 * MiB + 12_345]) {
      const content = seededBytes(size, size + 1);
      const name = `whole/${size}.bin`;
      server.resetCounters();
      const written = await direct.write(`/${BUCKET}/${name}`, streamOf(content), { partSize: MiB });
      expect(written).toMatchObject({ path: `/${BUCKET}/${name}`, size, md5: md5(content) });
      expect(server.object(BUCKET, name)?.equals(content)).toBe(true);
      expect([size, server.sessionsOpened, server.bytesReceived]).toEqual([size, 1, size]);
    }
    // A part size GCS cannot take (not a multiple of 256 KiB) is rounded up, not refused.
    const content = seededBytes(3 * MiB, 9);
    await direct.write(`/${BUCKET}/whole/rounded.bin`, streamOf(content), { partSize: 300_000 });
    expect(server.object(BUCKET, "whole/rounded.bin")?.equals(content)).toBe(true);
  });

  it("continues from the byte the server persisted after a connection cut mid-chunk, resending at most a chunk", async () => {
    const content = seededBytes(24 * MiB, 21);
    const chunk = 4 * MiB;
    server.resetCounters();
    proxy.resetCounters();
    // Inside the third chunk (8 to 12 MiB).
    proxy.cutAfter(10 * MiB + 100 * KiB);
    const written = await proxied.write(`/${BUCKET}/cut/object.bin`, streamOf(content), { partSize: chunk });
    expect(proxy.cuts).toBe(1);
    expect(written.size).toBe(content.length);
    expect(server.object(BUCKET, "cut/object.bin")?.equals(content)).toBe(true);
    // The same session, asked where it stood, and only what it lacked sent again.
    expect(server.sessionsOpened).toBe(1);
    expect(server.statusQueries).toBeGreaterThanOrEqual(1);
    expect(server.bytesReceived).toBeGreaterThan(content.length);
    expect(server.bytesReceived).toBeLessThanOrEqual(content.length + chunk);
    expect(proxy.bytesUp).toBeLessThan(content.length + chunk + 256 * KiB);
  });

  it("retries a chunk the server refuses with 503, and gives up with a retryable error when it keeps refusing", async () => {
    const content = seededBytes(6 * MiB, 31);
    server.resetCounters();
    server.failNextChunks(2);
    await direct.write(`/${BUCKET}/refused/once.bin`, streamOf(content), { partSize: MiB });
    expect(server.object(BUCKET, "refused/once.bin")?.equals(content)).toBe(true);
    expect(server.sessionsOpened).toBe(1);

    server.failNextChunks(100);
    const error = await direct.write(`/${BUCKET}/refused/always.bin`, streamOf(content), { partSize: MiB }).catch((e: unknown) => e);
    server.failNextChunks(0);
    expect(error).toMatchObject({ name: "StowageError", code: "Unavailable", retryable: true });
    expect(server.object(BUCKET, "refused/always.bin")).toBeUndefined();
  }, 60_000);

  it("keeps the session of a failed upload in its checkpoint, and a later write continues it", async () => {
    const content = seededBytes(12 * MiB + 777, 41);
    const path = `/${BUCKET}/kept/object.bin`;
    const saved: UploadState[] = [];
    server.resetCounters();
    // A source that drops like a connection at 7.5 MiB: 7 chunks of 1 MiB persisted, and saved.
    const failing = Readable.from(
      (async function* () {
        yield* piecesOf(content.subarray(0, 7.5 * MiB));
        throw Object.assign(new Error("connection reset by peer"), { code: "ECONNRESET" });
      })(),
      { objectMode: false },
    );
    const code = await codeOf(direct.write(path, failing, { partSize: MiB, checkpoint: { save: (state) => saved.push(state) } }));
    expect(code).toBe("Unavailable");
    // Saved when the session opened, then after every chunk with its persisted offset.
    expect(saved.length).toBeGreaterThanOrEqual(2);
    const state = saved.at(-1)!;
    expect(server.object(BUCKET, "kept/object.bin")).toBeUndefined();
    expect(await codeOf(direct.stat(path))).toBe("NotFound");

    const offset = await direct.uploads.offset(path, state, { size: content.length });
    expect(offset).toBeGreaterThanOrEqual(6 * MiB);
    expect(offset).toBeLessThanOrEqual(7.5 * MiB);
    // Another object, or a state it does not know, reuses nothing.
    expect(await direct.uploads.offset(`/${BUCKET}/kept/other.bin`, state, { size: content.length })).toBe(0);
    expect(await direct.uploads.offset(path, { kind: "unknown-upload", id: "x" }, { size: content.length })).toBe(0);
    // An offset the session was not recorded at is a retryable Conflict, and writes nothing.
    const wrong = await direct
      .write(path, streamOf(content.subarray(MiB)), { partSize: MiB, checkpoint: { resume: { state, offset: MiB }, save: () => undefined } })
      .catch((e: unknown) => e);
    expect(wrong).toMatchObject({ name: "StowageError", code: "Conflict", retryable: true });

    server.resetCounters();
    const written = await direct.write(path, streamOf(content.subarray(offset)), {
      partSize: MiB,
      checkpoint: { resume: { state, offset }, save: () => undefined },
    });
    expect(written.size).toBe(content.length);
    expect(server.object(BUCKET, "kept/object.bin")?.equals(content)).toBe(true);
    expect(server.sessionsOpened).toBe(0);
    expect(server.bytesReceived).toBeLessThanOrEqual(content.length - offset);
  });

  it("shows nothing under the final name until the last chunk is taken", async () => {
    const content = seededBytes(5 * MiB, 51);
    const path = `/${BUCKET}/hidden/object.bin`;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let halfway!: () => void;
    const reachedHalf = new Promise<void>((resolve) => (halfway = resolve));
    const body = Readable.from(
      (async function* () {
        yield* piecesOf(content.subarray(0, 3 * MiB));
        halfway();
        await gate;
        yield* piecesOf(content.subarray(3 * MiB));
      })(),
      { objectMode: false },
    );
    server.resetCounters();
    const writing = direct.write(path, body, { partSize: MiB });
    await reachedHalf;
    // Chunks are stored in the session: still no object, for the server or through the system.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(server.bytesReceived).toBeGreaterThanOrEqual(MiB);
    expect(server.object(BUCKET, "hidden/object.bin")).toBeUndefined();
    expect(await codeOf(direct.stat(path))).toBe("NotFound");
    const listed: string[] = [];
    for await (const entry of direct.list(`/${BUCKET}/hidden`, { recursive: true })) listed.push(entry.path);
    expect(listed).toEqual([]);
    release();
    await writing;
    expect(server.object(BUCKET, "hidden/object.bin")?.equals(content)).toBe(true);
  });

  it("refuses a damaged object: GCS checks the CRC32C sent with the last chunk, and the system checks what was stored", async () => {
    const content = seededBytes(5 * MiB + 3, 81);
    const before = server.openSessions;
    // One byte of the first chunk is stored flipped, as a faulty hop would deliver it.
    server.resetCounters();
    server.damageNextChunk();
    const refused = await direct.write(`/${BUCKET}/damaged/refused.bin`, streamOf(content), { partSize: 2 * MiB }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ name: "StowageError", code: "Conflict", retryable: true, operation: "verify" });
    expect(server.object(BUCKET, "damaged/refused.bin")).toBeUndefined();
    // The session with the bad bytes is cancelled, not kept for a retry that could only fail again.
    expect(server.openSessions).toBe(before);

    // A server that stores it anyway (no X-Goog-Hash check): the finished object's CRC32C gives it away.
    server.checkHashes = false;
    try {
      server.damageNextChunk();
      const stored = await direct.write(`/${BUCKET}/damaged/stored.bin`, streamOf(content), { partSize: 2 * MiB }).catch((e: unknown) => e);
      expect(stored).toMatchObject({ name: "StowageError", code: "Conflict", retryable: true, operation: "verify" });
      expect(server.object(BUCKET, "damaged/stored.bin")).toBeUndefined();
    } finally {
      server.checkHashes = true;
    }
  });

  it("cancels the session when the write is aborted, even with a checkpoint", async () => {
    const content = seededBytes(8 * MiB, 61);
    const controller = new AbortController();
    let sent = 0;
    const body = Readable.from(
      (async function* () {
        for (const piece of piecesOf(content)) {
          sent += piece.length;
          if (sent > 4 * MiB) controller.abort();
          yield piece;
        }
      })(),
      { objectMode: false },
    );
    const before = server.openSessions;
    const code = await codeOf(
      direct.write(`/${BUCKET}/aborted/object.bin`, body, { partSize: MiB, signal: controller.signal, checkpoint: { save: () => undefined } }),
    );
    expect(code).toBe("Aborted");
    expect(server.openSessions).toBe(before);
    expect(server.object(BUCKET, "aborted/object.bin")).toBeUndefined();
  });
});

/**
 * Runs `fn` with the environment a process has that reaches `endpoint` as a real GCS endpoint (the
 * `gs.endpoint` config, a bearer token, no emulator) and keeps its journal in `cache`; the systems
 * it opened are closed after, so no other test sees them.
 */
async function withGcsAt<T>(endpoint: string, cache: string, fn: () => Promise<T>): Promise<T> {
  const configFile = join(cache, "config.json");
  await mkdir(cache, { recursive: true });
  await writeFile(configFile, JSON.stringify({ gs: { endpoint } }));
  const env: Record<string, string | undefined> = { ...ENV, STOWAGE_CONFIG: configFile, XDG_CACHE_HOME: cache };
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  await closeSystems();
  apply(env);
  try {
    return await fn();
  } finally {
    await closeSystems();
    apply(saved);
  }
}

describe("copies to GCS that fail and run again (against the protocol server)", () => {
  it("a copy that fails while the server stays down keeps its session in the journal, and the re-run continues it", async () => {
    const content = seededBytes(16 * MiB + 5, 91);
    const local = tempDir("gs-resume-rerun");
    const sourceDir = join(local, "src");
    await mkdir(sourceDir, { recursive: true });
    await writeFile(join(sourceDir, "model.bin"), content);
    const destination = `gs://${BUCKET}/rerun`;
    await withGcsAt(`http://127.0.0.1:${proxy.port}`, join(local, "cache"), async () => {
      server.resetCounters();
      proxy.cutAfter(9 * MiB, { thenRefuse: true });
      const error = await copy(sourceDir, destination, { partSize: MiB, retries: 0 }).catch((e: unknown) => e);
      proxy.refuse = false;
      expect(error).toBeInstanceOf(TransferError);
      expect((error as TransferError).retryable).toBe(true);
      expect(server.object(BUCKET, "rerun/model.bin")).toBeUndefined();
      const reached = server.bytesReceived;
      expect(reached).toBeGreaterThan(4 * MiB);

      server.resetCounters();
      const rerun = await copy(sourceDir, destination, { partSize: MiB });
      const resumed = rerun.copied[0]?.resumedBytes ?? 0;
      expect(resumed).toBeGreaterThan(4 * MiB);
      expect(resumed).toBeLessThanOrEqual(reached);
      expect(server.sessionsOpened).toBe(0);
      expect(server.bytesReceived).toBeLessThanOrEqual(content.length - resumed);
      expect(server.object(BUCKET, "rerun/model.bin")?.equals(content)).toBe(true);
    });
  }, 120_000);
});

/** Runs test/transfer/multi-stream-child.ts (a `copy` in its own process) with the environment for the protocol server. */
function runChild(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
    delete childEnv.STORAGE_EMULATOR_HOST;
    const child = spawn(
      process.execPath,
      ["--import", join(process.cwd(), "node_modules/tsx/dist/loader.mjs"), join(import.meta.dirname, "../transfer/multi-stream-child.ts"), ...args],
      { env: childEnv, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 150_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe("a copy to GCS killed mid-upload (against the protocol server)", () => {
  it("re-runs into the same session: resumedBytes reported, the object identical, nothing under the name before", { timeout: 300_000 }, async () => {
    const content = seededBytes(32 * MiB, 71);
    const local = tempDir("gs-resume-kill");
    const sourceDir = join(local, "src");
    await mkdir(sourceDir, { recursive: true });
    await writeFile(join(sourceDir, "big.bin"), content);
    const configFile = join(local, "config.json");
    await writeFile(configFile, JSON.stringify({ gs: { endpoint: server.url } }));
    const env = { XDG_CACHE_HOME: join(local, "cache"), STOWAGE_CONFIG: configFile, STOWAGE_GS_ACCESS_TOKEN: TOKEN, GOOGLE_CLOUD_PROJECT: "demo-test" };
    const args = [sourceDir, `gs://${BUCKET}/killed`, JSON.stringify({ partSize: MiB })];

    server.resetCounters();
    const killed = await runChild([...args, String(content.length / 2)], env);
    expect(killed.signal, killed.stderr).toBe("SIGKILL");
    expect(server.sessionsOpened).toBe(1);
    const persistedAtKill = server.bytesReceived;
    expect(persistedAtKill).toBeGreaterThan(4 * MiB);
    // Nothing under the final name: the session holds the bytes, unfinished.
    expect(server.object(BUCKET, "killed/big.bin")).toBeUndefined();
    expect(await codeOf(direct.stat(`/${BUCKET}/killed/big.bin`))).toBe("NotFound");

    server.resetCounters();
    const again = await runChild(args, env);
    expect(again.code, again.stderr).toBe(0);
    const copied = JSON.parse(again.stdout) as TransferReport["copied"];
    expect(copied).toHaveLength(1);
    const resumed = copied[0]!.resumedBytes ?? 0;
    // The journal's session went on: no new one, and only the rest (plus what the kill cut short) sent.
    expect(server.sessionsOpened).toBe(0);
    expect(resumed).toBeGreaterThan(0);
    expect(resumed).toBeLessThanOrEqual(persistedAtKill);
    expect(server.bytesReceived).toBeLessThanOrEqual(content.length - resumed);
    expect(server.object(BUCKET, "killed/big.bin")?.equals(content)).toBe(true);
    console.log(
      `[gs] killed at ${content.length / 2 / MiB} MiB read: ${(persistedAtKill / MiB).toFixed(1)} MiB had reached the session, the re-run resumed ${(resumed / MiB).toFixed(1)} MiB`,
    );
  });
});
