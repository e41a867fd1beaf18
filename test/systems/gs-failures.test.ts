/**
 * What goes wrong, checked from outside with the raw SDK: interrupted and aborted writes leave no
 * object, `overwrite: false` is sent to GCS as a generation precondition (which the emulator
 * ignores, so Stowage also checks first), and provider failures map to the right codes.
 */
import { randomBytes } from "node:crypto";
import { has, need } from "../../src/systems/extensions.js";
import { full, type FullSystem } from "../support/full-system.js";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { ApiError, Storage, type Bucket } from "@google-cloud/storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAddress } from "../../src/systems/addresses.js";
import { isStowageError, type StowageError } from "../../src/errors.js";
import { readAll } from "../../src/systems/body.js";
import { mapGsError } from "../../src/systems/gs/errors.js";
import { createGsSystem } from "../../src/systems/gs/system.js";
import { SystemRegistry } from "../../src/systems/registry.js";
import { TEST_BUCKET } from "../conformance/fixtures/gs.js";
import { startTcpProxy } from "../support/tcp-proxy.js";
import { abortingStream, seededBytes } from "../support/seed.js";

const MiB = 1 << 20;
const registry = new SystemRegistry();
const prefix = `failures-${randomBytes(4).toString("hex")}`;
const root = `/${TEST_BUCKET}/${prefix}`;
let stowage: FullSystem;
let raw: Bucket;

async function failure(promise: Promise<unknown>): Promise<StowageError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isStowageError(error)) throw new Error(`expected a StowageError, got ${String(error)}`);
  expect(error.system).toBe("gs");
  return error;
}

/** Object names under `dir` as the raw SDK sees them, after giving a stray upload time to land. */
async function rawNames(dir: string, settleMs = 1500): Promise<string[]> {
  await new Promise((r) => setTimeout(r, settleMs));
  const [files] = await raw.getFiles({ prefix: `${prefix}/${dir}/` });
  return files.map((f) => f.name);
}

/** The error a failing body throws, so a test can find it again as the write's cause. */
const sourceFailure = new Error("source failed mid-stream");

/** Yields `bytes` bytes in 1 MiB chunks, then fails like a dropped source. */
async function* failingBody(bytes: number): AsyncGenerator<Buffer> {
  for (let sent = 0; sent < bytes; sent += MiB) yield seededBytes(Math.min(MiB, bytes - sent), sent + 1);
  throw sourceFailure;
}

/** A system built from the environment while `env` overrides it (the SDK reads it at construction). */
function systemWithEnv(env: Record<string, string | undefined>, config: Parameters<typeof createGsSystem>[1] = {}): FullSystem {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(env);
  try {
    return full(createGsSystem(parseAddress("gs://x"), config));
  } finally {
    apply(saved);
  }
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

beforeAll(async () => {
  stowage = full(await registry.open(parseAddress(`gs://${TEST_BUCKET}`)));
  raw = new Storage().bucket(TEST_BUCKET);
});

afterAll(async () => {
  await raw.deleteFiles({ prefix: `${prefix}/`, force: true });
  await registry.closeAll();
});

describe("gs interrupted writes", () => {
  it("a stream that fails midway leaves no object, new or replaced", async () => {
    expect((await failure(stowage.write(`${root}/failed/new.bin`, failingBody(20 * MiB)))).cause).toBe(sourceFailure);
    await stowage.write(`${root}/failed/old.bin`, "old");
    await failure(stowage.write(`${root}/failed/old.bin`, failingBody(20 * MiB)));
    expect(await rawNames("failed")).toEqual([`${prefix}/failed/old.bin`]);
    expect((await readAll(raw.file(`${prefix}/failed/old.bin`).createReadStream())).toString()).toBe("old");
  });

  it("a stream that fails after its first chunk, or before any byte, leaves no object", async () => {
    await failure(stowage.write(`${root}/early/one-chunk.bin`, failingBody(1)));
    await failure(stowage.write(`${root}/early/no-bytes.bin`, failingBody(0)));
    expect(await rawNames("early")).toEqual([]);
  });

  it("an abort mid-stream leaves no object and rejects with Aborted", async () => {
    const { stream, signal } = abortingStream(100 * MiB, 30 * MiB);
    const error = await failure(stowage.write(`${root}/aborted/stream.bin`, stream, { signal }));
    expect(error.code).toBe("Aborted");
    expect(await rawNames("aborted")).toEqual([]);
  });

  it("an abort while a byte body is in flight either rejects and leaves no object, or lands whole", async () => {
    // The SDK's simple upload keeps sending after its stream is destroyed; with a signal a byte body
    // goes through the abortable resumable upload, and an abort after its last byte is ignored.
    const outcomes: string[] = [];
    for (const delayMs of [0, 5, 20, 60]) {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), delayMs);
      const path = `${root}/aborted-bytes/${delayMs}.bin`;
      const content = seededBytes(24 * MiB, delayMs + 1);
      const written = await stowage.write(path, content, { signal: controller.signal }).then(
        () => "written",
        (e: unknown) => (isStowageError(e, "Aborted") ? "aborted" : String(e)),
      );
      outcomes.push(written);
      const [exists] = await raw.file(`${prefix}/aborted-bytes/${delayMs}.bin`).exists();
      if (written === "written") expect((await readAll(await stowage.read(path))).equals(content)).toBe(true);
      expect([delayMs, written, exists]).toEqual([delayMs, written, written === "written"]);
    }
    expect(outcomes).toContain("aborted");
    await new Promise((r) => setTimeout(r, 1500));
    const aborted = outcomes.flatMap((o, i) => (o === "aborted" ? [`${prefix}/aborted-bytes/${[0, 5, 20, 60][i]}.bin`] : []));
    expect((await rawNames("aborted-bytes", 0)).filter((name) => aborted.includes(name))).toEqual([]);
    console.log(`[gs] byte-body abort outcomes at 0/5/20/60 ms: ${outcomes.join(", ")}`);
  });
});

describe("gs overwrite: false", () => {
  it("sends ifGenerationMatch=0 on every upload path and on copy, and the emulator still refuses", async () => {
    const seen: string[] = [];
    const target = new URL(process.env.STORAGE_EMULATOR_HOST!);
    // A recording HTTP proxy in front of the emulator, to see the requests the SDK makes.
    const proxy = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on("error", () => res.destroy());
      req.pipe(upstream);
    });
    const url = await listen(proxy);
    try {
      const proxied = systemWithEnv({ STORAGE_EMULATOR_HOST: url });
      expect(proxied.semantics.conditionalWrite).toBe(false);
      await proxied.write(`${root}/cond/small.txt`, "small", { overwrite: false });
      await proxied.write(`${root}/cond/streamed.bin`, Readable.from([Buffer.from("streamed")]), { overwrite: false });
      await proxied.copy(`${root}/cond/small.txt`, `${root}/cond/copied.txt`, { overwrite: false });
      const conditional = seen.filter((line) => /[?&]ifGenerationMatch=0(&|$)/.test(line));
      expect(conditional.filter((l) => l.startsWith("POST /upload/") && l.includes("uploadType=multipart")).length).toBe(1);
      expect(conditional.filter((l) => l.startsWith("POST /upload/") && l.includes("uploadType=resumable")).length).toBe(1);
      expect(conditional.filter((l) => /\/(rewriteTo|copyTo)\//.test(l)).length).toBe(1);
      // The emulator ignores preconditions; the check before the write still refuses.
      expect((await failure(proxied.write(`${root}/cond/small.txt`, "again", { overwrite: false }))).code).toBe("AlreadyExists");
      expect((await failure(proxied.copy(`${root}/cond/streamed.bin`, `${root}/cond/copied.txt`, { overwrite: false }))).code).toBe("AlreadyExists");
      expect((await readAll(raw.file(`${prefix}/cond/copied.txt`).createReadStream())).toString()).toBe("small");
    } finally {
      await new Promise((r) => proxy.close(r));
    }
  });
});

describe("gs error mapping", () => {
  it("maps 404 to NotFound on stat, read and copy, keeping the SDK error as the cause", async () => {
    const stat = await failure(stowage.stat(`${root}/missing.txt`));
    expect(stat).toMatchObject({ code: "NotFound", operation: "stat", path: `${root}/missing.txt` });
    expect((stat.cause as { code?: unknown }).code).toBe(404);
    expect((await failure(stowage.read(`${root}/missing.txt`))).code).toBe("NotFound");
    expect((await failure(stowage.readRange(`${root}/missing.txt`, { suffix: 10 }))).code).toBe("NotFound");
    expect((await failure(stowage.copy(`${root}/missing.txt`, `${root}/never.txt`))).code).toBe("NotFound");
  });

  it("rejects exec with Unsupported and a bucket-less object path with InvalidInput", async () => {
    expect(has(stowage, "exec")).toBe(false);
    expect((await failure(Promise.resolve().then(() => need(stowage, "exec")))).code).toBe("Unsupported");
    expect((await failure(stowage.write(`/${TEST_BUCKET}`, "x"))).code).toBe("InvalidInput");
  });

  it("maps every status the SDK reports as an ApiError", () => {
    const table = {
      400: "InvalidInput",
      401: "PermissionDenied",
      403: "PermissionDenied",
      404: "NotFound",
      408: "Timeout",
      409: "Conflict",
      412: "AlreadyExists",
      416: "InvalidInput",
      429: "RateLimited",
      500: "Unavailable",
      501: "Unsupported",
      502: "Unavailable",
      503: "Unavailable",
    };
    for (const [status, code] of Object.entries(table)) {
      expect([status, mapGsError(new ApiError({ code: Number(status), message: "x", errors: [], response: undefined as never }))?.code]).toEqual([
        status,
        code,
      ]);
    }
  });

  it("maps HTTP statuses from a real server, retrying only what may pass later", async () => {
    let status = 403;
    let requests = 0;
    const server = createServer((req, res) => {
      requests++;
      req.resume();
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: status, message: `status ${status}` } }));
    });
    const url = await listen(server);
    try {
      const system = systemWithEnv({ STORAGE_EMULATOR_HOST: url });
      const expectations = [
        [403, "PermissionDenied", false, 1],
        [501, "Unsupported", false, 1],
        [503, "Unavailable", true, 4],
      ] as const;
      for (const [code, expected, retryable, attempts] of expectations) {
        status = code;
        requests = 0;
        const error = await failure(system.stat(`/${TEST_BUCKET}/x`));
        // The SDK retries what may pass later (three retries, with backoff) before giving up.
        expect([code, error.code, error.retryable, requests]).toEqual([code, expected, retryable, attempts]);
      }
    } finally {
      await new Promise((r) => server.close(r));
    }
  }, 60_000);

  it("without credentials, a 401 becomes PermissionDenied saying how to configure them", async () => {
    const server = createServer((req, res) => {
      req.resume();
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: 401, message: "Anonymous caller does not have storage.objects.get access" } }));
    });
    const url = await listen(server);
    try {
      // A custom endpoint (like a private GCS endpoint) with no ADC anywhere and no metadata server.
      const system = systemWithEnv(
        {
          STORAGE_EMULATOR_HOST: undefined,
          GOOGLE_APPLICATION_CREDENTIALS: undefined,
          CLOUDSDK_CONFIG: "/nonexistent",
          HOME: "/nonexistent",
          METADATA_SERVER_DETECTION: "none",
          // Any metadata lookup the SDK still makes goes to a closed loopback port, never 169.254.169.254.
          GCE_METADATA_HOST: "127.0.0.1:9",
          GCE_METADATA_IP: "127.0.0.1:9",
        },
        { gs: { endpoint: url } },
      );
      const error = await failure(system.stat(`/${TEST_BUCKET}/x`));
      expect(error.code).toBe("PermissionDenied");
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it("still retries a dropped connection after many concurrent writes and deletes", async () => {
    // SDK 7.22's default retry strategy could leave retries switched off client-wide after
    // concurrent unconditional uploads; the system opts out of it.
    const proxy = await startTcpProxy(Number(new URL(process.env.STORAGE_EMULATOR_HOST!).port));
    try {
      const system = systemWithEnv({ STORAGE_EMULATOR_HOST: `http://127.0.0.1:${proxy.port}` });
      const names = Array.from({ length: 32 }, (_, i) => `${root}/retry/f${i}.txt`);
      await Promise.all(names.map((name) => system.write(name, name)));
      await system.delete(names.slice(1));
      proxy.cutAfter(1);
      expect((await system.stat(names[0]!)).size).toBe(names[0]!.length);
      expect(proxy.cuts).toBe(1);
    } finally {
      await proxy.close();
    }
  });

  it("a refused connection is Unavailable and retryable", async () => {
    const closed = createServer();
    const url = await listen(closed);
    await new Promise((r) => closed.close(r));
    const system = systemWithEnv({ STORAGE_EMULATOR_HOST: url });
    const error = await failure(system.stat(`/${TEST_BUCKET}/x`));
    expect([error.code, error.retryable]).toEqual(["Unavailable", true]);
  }, 60_000);
});
