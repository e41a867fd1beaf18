/**
 * The conformance suite: the same behaviour tests against every system, gated by the extensions
 * the system has and its fixture declares. Each system's test file is one line:
 * `defineConformanceSuite(fixture)`.
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isStowageError, StowageError, type ErrorCode } from "../errors.js";
import { readAll } from "../systems/body.js";
import type { ByteRange, Entry, ExtensionName, RangeChecksum, System, UploadState } from "../systems/contract.js";
import { canWrite, has, need, readRange, writable, type Writable } from "../systems/extensions.js";
import { createRangeHash } from "../systems/range-checksum.js";
import type { SystemFixture } from "./fixture.js";
import { eachLimit, sha256, sha256Of, withPeakRss } from "./measure.js";
import { BIG_SEED_PATH, BIG_SEED_SIZE, MANY_COUNT, SPECIAL_NAMES, abortingStream, bigSeed, seedTree, seededBytes, seededStream } from "./seed.js";

const MiB = 1 << 20;
/**
 * A streamed 200 MiB round trip may raise RSS by at most this much: a buffered body would need 200+.
 * Part buffers in flight legitimately take up to ~110 MiB (S3: 4 parts of 16 MiB plus the SDK's
 * request copies), so the bound leaves room for a busy machine's GC timing.
 */
const STREAM_MEMORY_BOUND = 150 * MiB;

/** Asserts that `promise` rejects with a StowageError of `code` that names the system. */
export async function expectCode(promise: Promise<unknown>, code: ErrorCode, system?: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected a StowageError ${code}`).toBeDefined();
  expect(isStowageError(error), `not a StowageError: ${String(error)}`).toBe(true);
  expect((error as { code: string }).code).toBe(code);
  if (system) expect((error as { system?: string }).system).toBe(system);
}

async function text(system: System, path: string): Promise<string> {
  return (await readAll(await system.read(path))).toString("utf8");
}

async function collect(iterable: AsyncIterable<Entry>): Promise<Entry[]> {
  const entries: Entry[] = [];
  for await (const entry of iterable) entries.push(entry);
  return entries;
}

/** A body that yields `bytes` bytes and then fails, like a dropped upload source. */
function failingBody(bytes: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= bytes) {
        this.destroy(new Error("source failed mid-stream"));
        return;
      }
      const chunk = seededBytes(Math.min(MiB, bytes - sent), sent + 1);
      sent += chunk.length;
      this.push(chunk);
    },
  });
}

/** `content` from `offset` on, in 1 MiB chunks; with `failAt`, fails there like a dropped connection. */
function resumableBody(content: Buffer, offset: number, failAt?: number): Readable & { sent(): number } {
  let at = offset;
  const stream = new Readable({
    read() {
      if (failAt !== undefined && at >= failAt) {
        return void this.destroy(Object.assign(new Error("connection reset by peer"), { code: "ECONNRESET" }));
      }
      if (at >= content.length) return void this.push(null);
      const end = Math.min(content.length, at + MiB, failAt ?? content.length);
      this.push(content.subarray(at, end));
      at = end;
    },
  });
  return Object.assign(stream, { sent: () => at - offset });
}

export function defineConformanceSuite(fixture: SystemFixture): void {
  // Known when tests are defined, so inapplicable tests are never defined rather than skipped.
  const writableFixture = fixture.writableRoot !== undefined;
  const listed = (extension: ExtensionName) => fixture.extensions.includes(extension);
  describe(`${fixture.name} conformance`, () => {
    let system: System;
    /** The same system where it stores data (writable fixtures only). */
    let store: Writable;
    /** Where the seed tree lives: written by the suite, or served by a read-only system. */
    let seedRoot: string;
    /** A scratch directory for writable systems. */
    let root: string;
    const seed = seedTree();

    beforeAll(async () => {
      system = await fixture.open();
      if (canWrite(system)) {
        if (!fixture.writableRoot) throw new Error(`${fixture.name} is writable but its fixture gives no writableRoot`);
        store = system;
        root = await fixture.writableRoot();
        seedRoot = `${root}/seed`;
        await eachLimit([...seed], 16, ([relative, content]) => store.write(`${seedRoot}/${relative}`, content));
      } else {
        if (!fixture.seededRoot) throw new Error(`${fixture.name} is read-only but its fixture gives no seededRoot`);
        seedRoot = await fixture.seededRoot();
      }
    });

    afterAll(async () => {
      if (store && root) await store.delete([root], { recursive: true });
      await fixture.dispose?.();
    });

    describe("reading", () => {
      it("stats a file with its size and a directory as a directory", async () => {
        const file = await system.stat(`${seedRoot}/nested/top.txt`);
        expect(file).toMatchObject({ type: "file", size: 4, path: `${seedRoot}/nested/top.txt` });
        expect((await system.stat(`${seedRoot}/nested`)).type).toBe("directory");
        expect((await system.stat(`${seedRoot}/nested/a/b`)).type).toBe("directory");
      });

      it("reads a file whole", async () => {
        expect(await text(system, `${seedRoot}/nested/a/b/deep.txt`)).toBe("deep\n");
      });

      it("gives NotFound for a missing file, on stat and on read", async () => {
        await expectCode(system.stat(`${seedRoot}/no-such-file.txt`), "NotFound", fixture.name);
        await expectCode(system.read(`${seedRoot}/no-such-file.txt`), "NotFound", fixture.name);
        await expectCode(system.read(`${seedRoot}/no-such-dir/x.txt`), "NotFound", fixture.name);
      });

      it("errors name the operation and the path", async () => {
        const error = await system.stat(`${seedRoot}/missing`).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: "NotFound", system: fixture.name, operation: "stat" });
        expect((error as { path?: string }).path).toContain("missing");
      });

      it("lists one level: files and directories, with absolute paths", async () => {
        const entries = await collect(system.list(`${seedRoot}/nested`));
        const byPath = Object.fromEntries(entries.map((e) => [e.path, e.type]));
        expect(byPath).toEqual({ [`${seedRoot}/nested/top.txt`]: "file", [`${seedRoot}/nested/a`]: "directory" });
      });

      it("lists recursively: every file below, and files only", async () => {
        const entries = await collect(system.list(`${seedRoot}/nested`, { recursive: true }));
        expect(entries.map((e) => e.path).sort()).toEqual([`${seedRoot}/nested/a/b/deep.txt`, `${seedRoot}/nested/top.txt`]);
        expect(entries.every((e) => e.type === "file")).toBe(true);
        expect(entries.find((e) => e.path.endsWith("deep.txt"))?.size).toBe(5);
      });

      it("lists more than 1,000 entries across pages, one level and recursively", async () => {
        const expected = [...seed.keys()]
          .filter((k) => k.startsWith("many/"))
          .map((k) => `${seedRoot}/${k}`)
          .sort();
        expect(expected).toHaveLength(MANY_COUNT);
        const flat = await collect(system.list(`${seedRoot}/many`));
        expect(flat.map((e) => e.path).sort()).toEqual(expected);
        const paged = await collect(system.list(`${seedRoot}/many`, { recursive: true, pageSize: 400 }));
        expect(paged.map((e) => e.path).sort()).toEqual(expected);
      });

      it("lists a missing directory as empty", async () => {
        expect(await collect(system.list(`${seedRoot}/no-such-dir`))).toEqual([]);
        expect(await collect(system.list(`${seedRoot}/no-such-dir`, { recursive: true }))).toEqual([]);
      });

      it("keeps names with spaces, unicode and #?%+ intact", async () => {
        const listed = (await collect(system.list(`${seedRoot}/special`))).map((e) => e.path).sort();
        expect(listed).toEqual(SPECIAL_NAMES.map((n) => `${seedRoot}/special/${n}`).sort());
        for (const name of SPECIAL_NAMES) {
          expect(await text(system, `${seedRoot}/special/${name}`)).toBe(`name: ${name}\n`);
          expect((await system.stat(`${seedRoot}/special/${name}`)).size).toBe(Buffer.byteLength(`name: ${name}\n`));
        }
      });

      it("reads empty files, whole and by range", async () => {
        expect((await system.stat(`${seedRoot}/empty.bin`)).size).toBe(0);
        expect((await readAll(await system.read(`${seedRoot}/empty.bin`))).length).toBe(0);
        expect((await readAll(await readRange(system, `${seedRoot}/empty.bin`, { suffix: 10 }))).length).toBe(0);
        expect((await readAll(await readRange(system, `${seedRoot}/empty.bin`, { offset: 0, length: 5 }))).length).toBe(0);
      });

      it("reads byte ranges, including the last N bytes and ranges past the end", async () => {
        const path = `${seedRoot}/range.bin`;
        const whole = seed.get("range.bin")!;
        // Served by the provider where the system has readRange, else cut from the whole stream.
        const range = async (r: ByteRange) => readAll(await readRange(system, path, r));
        expect((await range({ offset: 1000, length: 5000 })).equals(whole.subarray(1000, 6000))).toBe(true);
        expect((await range({ offset: whole.length - 10 })).equals(whole.subarray(-10))).toBe(true);
        expect((await range({ suffix: 4096 })).equals(whole.subarray(-4096))).toBe(true);
        expect((await range({ suffix: whole.length + 100 })).equals(whole)).toBe(true);
        expect((await range({ offset: 10, length: 0 })).length).toBe(0);
        expect((await range({ offset: whole.length - 3, length: 100 })).equals(whole.subarray(-3))).toBe(true);
        expect((await range({ offset: whole.length + 5 })).length).toBe(0);
        await expectCode(readRange(system, `${seedRoot}/no-such-file.txt`, { offset: 1 }), "NotFound", fixture.name);
        await expectCode(readRange(system, `${seedRoot}/no-such-file.txt`, { suffix: 1 }), "NotFound", fixture.name);
      });

      it("reads a byte range into one buffer with readBytes, where it has it, as read does", async () => {
        if (!has(system, "readBytes")) return expect(listed("readBytes")).toBe(false);
        const path = `${seedRoot}/range.bin`;
        const whole = seed.get("range.bin")!;
        const bytes = (offset: number, length: number) => system.readBytes!(path, { offset, length });
        expect(Buffer.from(await bytes(1000, 5000)).equals(whole.subarray(1000, 6000))).toBe(true);
        expect(Buffer.from(await bytes(0, whole.length)).equals(whole)).toBe(true);
        expect(Buffer.from(await bytes(whole.length - 3, 100)).equals(whole.subarray(-3))).toBe(true);
        expect((await bytes(10, 0)).length).toBe(0);
        expect((await bytes(whole.length + 5, 10)).length).toBe(0);
        await expectCode(system.readBytes(`${seedRoot}/no-such-file.txt`, { offset: 0, length: 10 }), "NotFound", fixture.name);
      });
    });

    describe("extensions", () => {
      const EXTENSIONS: readonly ExtensionName[] = [
        "readRange",
        "readBytes",
        "openRangeWriter",
        "copy",
        "exec",
        "exportCredentials",
        "uploads",
        "batches",
        "batchReads",
      ];

      it("has each extension exactly when the fixture lists it", () => {
        expect(EXTENSIONS.filter((extension) => has(system, extension))).toEqual(EXTENSIONS.filter(listed));
      });

      it("reports a missing extension, or writes on a read-only system, as Unsupported naming the system", () => {
        for (const extension of EXTENSIONS.filter((e) => !listed(e))) {
          let error: unknown;
          try {
            need(system, extension, extension, `${seedRoot}/nested/top.txt`);
          } catch (caught) {
            error = caught;
          }
          expect(error, extension).toMatchObject({ code: "Unsupported", system: fixture.name, operation: extension });
        }
        if (!writableFixture)
          expect(() => writable(system, "write", `${seedRoot}/new.txt`)).toThrow(expect.objectContaining({ code: "Unsupported", system: fixture.name }));
        // Whatever it has, a read of what exists works.
        return text(system, `${seedRoot}/nested/top.txt`).then((content) => expect(content).toBe("top\n"));
      });

      it("stores data exactly when the fixture offers a writable root", () => {
        expect(canWrite(system)).toBe(writableFixture);
        // Writes come as a set: a system has all of write, delete and mkdir, or none.
        expect([system.write, system.delete, system.mkdir].filter((method) => method !== undefined)).toHaveLength(writableFixture ? 3 : 0);
      });

      if (listed("exec"))
        it("runs a command where the data is, with stdin, output and exit code", async () => {
          const host = need(system, "exec");
          const result = await host.exec("cat; echo; echo to-stderr >&2; exit 3", { stdin: "from stdin" });
          expect(result.code).toBe(3);
          expect(result.stdout.toString()).toBe("from stdin\n");
          expect(result.stderr.toString()).toBe("to-stderr\n");
        });

      if (listed("exportCredentials"))
        it("exports credentials as environment variables of strings, saying whether they are scoped, or says it cannot", async () => {
          const place = writableFixture ? root : seedRoot;
          const scope = { path: place, access: "write", list: true, replace: true, delete: false, lifetimeMs: 15 * 60_000 } as const;
          const exported = await need(system, "exportCredentials").exportCredentials(scope);
          if (exported === undefined) return;
          expect(Object.keys(exported.env).length).toBeGreaterThan(0);
          for (const [key, value] of Object.entries(exported.env)) {
            expect(key).toMatch(/^[A-Z][A-Z0-9_]*$/);
            expect(typeof value).toBe("string");
          }
          expect(typeof exported.scoped).toBe("boolean");
          // An unscoped credential says why; a known expiry is still ahead.
          if (!exported.scoped) expect(exported.reason?.length).toBeGreaterThan(0);
          if (exported.expiresAt) expect(exported.expiresAt.getTime()).toBeGreaterThan(Date.now());
        });

      if (listed("batchReads"))
        it("reads many files in one batch: each one's bytes, or an error for that file alone", async () => {
          const batch = need(system, "batchReads").batchReads;
          expect(batch.maxFiles).toBeGreaterThan(1);
          const paths = [`${seedRoot}/nested/top.txt`, `${seedRoot}/no-such-file.txt`, `${seedRoot}/empty.bin`, `${seedRoot}/special/${SPECIAL_NAMES[1]}`];
          const results = await batch.readMany(paths);
          expect(results).toHaveLength(paths.length);
          expect(Buffer.from(results[0] as Buffer).toString()).toBe("top\n");
          expect(results[1]).toBeInstanceOf(Error);
          expect((results[2] as Buffer).length).toBe(0);
          expect(Buffer.from(results[3] as Buffer).toString()).toBe(`name: ${SPECIAL_NAMES[1]}\n`);
        });

      if (writableFixture && listed("batches"))
        it("writes many files in one batch, each atomically, with one outcome per file", async () => {
          const batch = need(system, "batches").batches;
          expect(batch.maxFiles).toBeGreaterThan(1);
          const files = [
            { path: `${root}/batch/a.txt`, body: Buffer.from("a") },
            { path: `${root}/batch/deep/b ü#.txt`, body: Buffer.from("bb") },
            { path: `${root}/batch/empty.bin`, body: Buffer.alloc(0) },
          ];
          const results = await batch.writeMany(files);
          expect(results.map((r) => (r instanceof Error ? r : r.size))).toEqual([1, 2, 0]);
          for (const file of files) expect(Buffer.compare(await readAll(await system.read(file.path)), file.body)).toBe(0);
          // With overwrite off, an existing file fails alone and keeps its content.
          const again = await batch.writeMany(
            [
              { path: `${root}/batch/a.txt`, body: Buffer.from("new") },
              { path: `${root}/batch/c.txt`, body: Buffer.from("c") },
            ],
            { overwrite: false },
          );
          expect(again[0]).toMatchObject({ code: "AlreadyExists" });
          expect(again[1]).toMatchObject({ size: 1 });
          expect(await text(system, `${root}/batch/a.txt`)).toBe("a");
        });
    });

    if (!writableFixture)
      describe("large reads", () => {
        it("streams a large file with bounded memory and the right content", async () => {
          const expected = sha256(bigSeed());
          const { result, rssGrowth } = await withPeakRss(async () => sha256Of(await system.read(`${seedRoot}/${BIG_SEED_PATH}`)));
          expect(result.size).toBe(BIG_SEED_SIZE);
          expect(result.sha256).toBe(expected);
          expect(rssGrowth).toBeLessThan(BIG_SEED_SIZE);
        });
      });

    if (writableFixture)
      describe("writing", () => {
        it("writes bytes and strings, then reads them back", async () => {
          const result = await store.write(`${root}/basic/hello.txt`, "hello");
          expect(result).toMatchObject({ path: `${root}/basic/hello.txt`, size: 5 });
          await store.write(`${root}/basic/bytes.bin`, new Uint8Array([1, 2, 3]));
          // A system that says its writes report checksums must report the right one.
          if (system.semantics.checksums.includes("md5")) expect(result.md5).toBe(createHash("md5").update("hello").digest("hex"));
          expect(await text(system, `${root}/basic/hello.txt`)).toBe("hello");
          expect([...(await readAll(await system.read(`${root}/basic/bytes.bin`)))]).toEqual([1, 2, 3]);
          expect((await system.stat(`${root}/basic/hello.txt`)).size).toBe(5);
        });

        it("checks a stream write before publishing where it publishes a part file, and a refusal leaves nothing", async () => {
          const content = seededBytes(3 * MiB + 5, 93);
          const md5 = createHash("md5").update(content).digest("hex");
          const path = `${root}/checked/file.bin`;
          let seen: string[] | undefined;
          await store.write(path, Readable.from([content]), {
            size: content.length,
            beforePublish: async (digest) => {
              seen = await digest([{ offset: 0, length: content.length }]);
              await expectCode(system.stat(path), "NotFound", fixture.name);
            },
          });
          // Systems that publish as they store (object stores) never call it; those with directories must.
          if (system.semantics.directories) expect(seen).toEqual([md5]);
          else expect(seen === undefined || seen[0] === md5).toBe(true);
          const refused = `${root}/checked/refused.bin`;
          let state: UploadState | undefined;
          const error = await store
            .write(refused, Readable.from([content]), {
              size: content.length,
              checkpoint: { save: (saved) => (state = saved) },
              beforePublish: () => Promise.reject(new StowageError({ code: "Conflict", retryable: true, message: "wrong content" })),
            })
            .then(
              () => undefined,
              (e: unknown) => e,
            );
          if (seen) {
            expect(isStowageError(error) && error.code).toBe("Conflict");
            await expectCode(system.stat(refused), "NotFound", fixture.name);
            // Nor a part file kept to resume, although the failure was retryable.
            if (state && system.uploads) expect(await system.uploads.offset(refused, state, { size: content.length })).toBe(0);
          }
        });

        it("streams a 200 MiB object in and out with bounded memory", async () => {
          const size = 200 * MiB;
          const path = `${root}/big/object.bin`;
          const source = seededStream(size);
          const written = await withPeakRss(() => store.write(path, source.stream));
          expect(written.result.size).toBe(size);
          const read = await withPeakRss(async () => sha256Of(await system.read(path)));
          expect(read.result).toEqual({ sha256: source.sha256(), size });
          expect((await system.stat(path)).size).toBe(size);
          console.log(`[${fixture.name}] 200 MiB rss growth: write ${(written.rssGrowth / MiB).toFixed(0)} MiB, read ${(read.rssGrowth / MiB).toFixed(0)} MiB`);
          expect(written.rssGrowth).toBeLessThan(STREAM_MEMORY_BOUND);
          expect(read.rssGrowth).toBeLessThan(STREAM_MEMORY_BOUND);
          await store.delete([path]);
          await expectCode(system.stat(path), "NotFound");
        }, 600_000);

        it("overwrites by default, and refuses with AlreadyExists when told not to", async () => {
          const path = `${root}/overwrite/file.txt`;
          await store.write(path, "first");
          await store.write(path, "second!");
          expect(await text(system, path)).toBe("second!");
          await expectCode(store.write(path, "third", { overwrite: false }), "AlreadyExists", fixture.name);
          await expectCode(store.write(path, Readable.from([Buffer.from("third")]), { overwrite: false }), "AlreadyExists");
          expect(await text(system, path)).toBe("second!");
          await store.write(`${root}/overwrite/new.txt`, "fresh", { overwrite: false });
          expect(await text(system, `${root}/overwrite/new.txt`)).toBe("fresh");
        });

        it("leaves nothing under the name when the body fails mid-stream", async () => {
          const dir = `${root}/interrupted`;
          await expect(store.write(`${dir}/new.bin`, failingBody(12 * MiB))).rejects.toThrow();
          await expectCode(system.stat(`${dir}/new.bin`), "NotFound");
          expect((await collect(system.list(dir, { recursive: true }))).map((e) => e.path)).toEqual([]);
          // An existing object keeps its old content when a replacement fails.
          await store.write(`${dir}/old.bin`, "old content");
          await expect(store.write(`${dir}/old.bin`, failingBody(12 * MiB))).rejects.toThrow();
          expect(await text(system, `${dir}/old.bin`)).toBe("old content");
          expect((await collect(system.list(dir, { recursive: true }))).map((e) => e.path)).toEqual([`${dir}/old.bin`]);
        });

        it("leaves nothing when the write is aborted", async () => {
          const { stream, signal } = abortingStream(64 * MiB, 10 * MiB);
          await expect(store.write(`${root}/aborted/x.bin`, stream, { signal })).rejects.toThrow();
          await expectCode(system.stat(`${root}/aborted/x.bin`), "NotFound");
        });

        it("deletes files, succeeds on missing ones, and deletes trees recursively", async () => {
          const dir = `${root}/deleting`;
          await eachLimit(["a.txt", "b.txt", "sub/c.txt", "sub/deeper/d.txt"], 4, (name) => store.write(`${dir}/${name}`, name));
          await store.delete([`${dir}/a.txt`, `${dir}/never-existed.txt`]);
          await expectCode(system.stat(`${dir}/a.txt`), "NotFound");
          expect(await text(system, `${dir}/b.txt`)).toBe("b.txt");
          await store.delete([`${dir}/missing-dir`], { recursive: true });
          await store.delete([`${dir}/sub`], { recursive: true });
          expect((await collect(system.list(dir, { recursive: true }))).map((e) => e.path)).toEqual([`${dir}/b.txt`]);
          await expectCode(system.stat(`${dir}/sub`), "NotFound");
        });

        if (listed("copy"))
          it("copies inside the system, server-side", async () => {
            const system = need(store, "copy");
            const content = seededBytes(3 * MiB + 17, 5);
            await store.write(`${root}/copying/source bin#1.bin`, content);
            await system.copy(`${root}/copying/source bin#1.bin`, `${root}/copying/dest/copy ü+%.bin`);
            expect(sha256(await readAll(await system.read(`${root}/copying/dest/copy ü+%.bin`)))).toBe(sha256(content));
            await expectCode(system.copy(`${root}/copying/missing`, `${root}/copying/never`), "NotFound");
            // With the size known from a listing the system may skip its own lookup, not its checks.
            await expectCode(system.copy(`${root}/copying/missing`, `${root}/copying/never`, { size: 10 }), "NotFound");
          });

        it("makes directories where directories exist", async () => {
          await store.mkdir(`${root}/made/deep/er`);
          if (system.semantics.directories) {
            expect((await system.stat(`${root}/made/deep/er`)).type).toBe("directory");
            expect((await collect(system.list(`${root}/made`))).map((e) => e.type)).toEqual(["directory"]);
          }
          await store.write(`${root}/made/deep/er/f.txt`, "f");
          expect((await system.stat(`${root}/made/deep`)).type).toBe("directory");
        });
      });

    if (writableFixture && listed("openRangeWriter"))
      describe("range writes", () => {
        // Three ranges, the last short, written out of order and at once.
        const content = seededBytes(5 * MiB + 12_345, 91);
        const ranges = [
          { offset: 4 * MiB, length: MiB + 12_345 },
          { offset: 0, length: 2 * MiB },
          { offset: 2 * MiB, length: 2 * MiB },
        ];
        const rangeChecksum = (checksum: RangeChecksum, { offset, length }: { offset: number; length: number }) => {
          const hash = createRangeHash(checksum);
          hash.update(content.subarray(offset, offset + length));
          return hash.digest();
        };
        const chunks = (offset: number, length: number) =>
          Readable.from(
            Array.from({ length: Math.ceil(length / 300_000) }, (_, i) => content.subarray(offset + i * 300_000, offset + Math.min(length, (i + 1) * 300_000))),
          );

        it("writes a file as ranges at once, visible only once committed", async () => {
          const path = `${root}/ranges/whole.bin`;
          const writer = await system.openRangeWriter!(path, { size: content.length });
          await Promise.all(ranges.map(({ offset, length }) => writer.write(offset, length, chunks(offset, length))));
          await expectCode(system.stat(path), "NotFound", fixture.name);
          expect(await writer.commit()).toMatchObject({ path, size: content.length });
          expect(sha256(await readAll(await system.read(path)))).toBe(sha256(content));
          // No part file is left beside it.
          expect((await collect(system.list(`${root}/ranges`))).map((entry) => entry.path)).toEqual([path]);
        });

        it("digests ranges of the part file before the commit", async () => {
          const path = `${root}/ranges-digest/file.bin`;
          const writer = await system.openRangeWriter!(path, { size: content.length });
          await Promise.all(ranges.map(({ offset, length }) => writer.write(offset, length, chunks(offset, length))));
          const spans = [{ offset: 0, length: content.length }, ...ranges, { offset: 3 * MiB + 7, length: 5 }];
          const md5 = ({ offset, length }: { offset: number; length: number }) =>
            createHash("md5")
              .update(content.subarray(offset, offset + length))
              .digest("hex");
          expect(await writer.digest(spans)).toEqual(spans.map(md5));
          // Each faster checksum the writer lists is computed as range-checksum.ts does.
          for (const checksum of writer.checksums) expect(await writer.digest(spans, { checksum })).toEqual(spans.map((span) => rangeChecksum(checksum, span)));
          await writer.abort();
          await expectCode(system.stat(path), "NotFound", fixture.name);
        });

        it("answers a range's checksum as it writes it only where it can, and then the right one", async () => {
          const path = `${root}/ranges-checksum/file.bin`;
          const writer = await system.openRangeWriter!(path, { size: content.length });
          for (const checksum of writer.checksums) {
            const answers = await Promise.all(ranges.map(({ offset, length }) => writer.write(offset, length, chunks(offset, length), { checksum })));
            answers.forEach((answer, index) => {
              if (answer.checksum !== undefined) expect(answer.checksum).toBe(rangeChecksum(checksum, ranges[index]!));
            });
          }
          await writer.abort();
          await expectCode(system.stat(path), "NotFound", fixture.name);
        });

        it("leaves nothing when a range comes up short or the writer is aborted", async () => {
          const path = `${root}/ranges-short/short.bin`;
          const writer = await system.openRangeWriter!(path, { size: content.length });
          await writer.write(0, 2 * MiB, chunks(0, 2 * MiB));
          const short = await writer.write(2 * MiB, 2 * MiB, chunks(2 * MiB, MiB)).then(
            () => undefined,
            (error: unknown) => error,
          );
          expect(isStowageError(short) && short.code).toBe("Conflict");
          // A commit before every range arrived is refused as well.
          await expectCode(writer.commit(), "Conflict", fixture.name);
          await writer.abort();
          await expectCode(system.stat(path), "NotFound", fixture.name);
          expect(await collect(system.list(`${root}/ranges-short`, { recursive: true }))).toEqual([]);
        });

        it("keeps written ranges for a later writer to resume, and refuses a state whose part is gone", async () => {
          const path = `${root}/ranges-resumed/file.bin`;
          const first = await system.openRangeWriter!(path, { size: content.length });
          await first.write(ranges[1]!.offset, ranges[1]!.length, chunks(ranges[1]!.offset, ranges[1]!.length));
          await first.keep();
          const state = JSON.parse(JSON.stringify(first.state)) as UploadState;
          const second = await system.openRangeWriter!(path, { size: content.length, resume: state });
          await Promise.all([ranges[0]!, ranges[2]!].map(({ offset, length }) => second.write(offset, length, chunks(offset, length))));
          await second.commit();
          expect(sha256(await readAll(await system.read(path)))).toBe(sha256(content));
          // Committed: the part file is gone, so the same state can no longer be resumed.
          await expectCode(system.openRangeWriter!(path, { size: content.length, resume: state }), "Conflict", fixture.name);
        });

        it("refuses to replace an existing file without overwrite", async () => {
          const path = `${root}/ranges-kept/kept.txt`;
          await store.write(path, "kept");
          await expectCode(system.openRangeWriter!(path, { size: content.length, overwrite: false }), "AlreadyExists", fixture.name);
          expect(await text(system, path)).toBe("kept");
        });
      });

    if (writableFixture && listed("uploads"))
      describe("resumable uploads", () => {
        const SIZE = 23 * MiB;
        const PART = 5 * MiB;
        const content = seededBytes(SIZE, 77);

        /** A write whose body fails at `failAt` like a dropped connection; returns the state it saved. */
        async function interruptedWrite(path: string, failAt: number): Promise<UploadState> {
          const saved: UploadState[] = [];
          const body = resumableBody(content, 0, failAt);
          const error = await store
            .write(path, body, { partSize: PART, concurrency: 1, checkpoint: { save: (state) => saved.push(state) } })
            .catch((e: unknown) => e);
          expect(error).toMatchObject({ name: "StowageError", retryable: true });
          expect(saved).toHaveLength(1);
          return saved[0]!;
        }

        it("keeps what an interrupted upload stored, and a resumed write sends only the rest", async () => {
          const path = `${root}/resume/object.bin`;
          // The body fails at 17 MiB: what was stored is a prefix of it (S3: three whole 5 MiB parts).
          const state = await interruptedWrite(path, 17 * MiB);
          await expectCode(system.stat(path), "NotFound");
          expect((await collect(system.list(`${root}/resume`, { recursive: true }))).map((e) => e.path)).toEqual([]);
          const offset = await system.uploads!.offset(path, state, { size: SIZE });
          expect(offset).toBeGreaterThanOrEqual(2 * PART);
          expect(offset).toBeLessThanOrEqual(17 * MiB);
          const rest = resumableBody(content, offset);
          const written = await store.write(path, rest, { partSize: PART, checkpoint: { resume: { state, offset }, save: () => undefined } });
          expect(written.size).toBe(SIZE);
          expect(rest.sent()).toBe(SIZE - offset);
          expect(await sha256Of(await system.read(path))).toEqual({ sha256: sha256(content), size: SIZE });
        });

        it("never offers the part holding the last byte, so a resumed write always finishes the upload itself", async () => {
          const path = `${root}/resume-whole/object.bin`;
          // All 20 MiB of a 20 MiB object were stored: still, some must be left to send.
          const state = await interruptedWrite(path, 20 * MiB);
          const offset = await system.uploads!.offset(path, state, { size: 20 * MiB });
          expect(offset).toBeGreaterThan(0);
          expect(offset).toBeLessThan(20 * MiB);
          await system.uploads!.discard(path, state);
        });

        it("reuses nothing for another object's upload or a state it does not know", async () => {
          const path = `${root}/resume-other/object.bin`;
          const state = await interruptedWrite(path, 12 * MiB);
          expect(await system.uploads!.offset(`${root}/resume-other/other.bin`, state, { size: SIZE })).toBe(0);
          expect(await system.uploads!.offset(path, { kind: "unknown-upload", id: "x" }, { size: SIZE })).toBe(0);
          // A state for another object cannot make discard remove anything else.
          await store.write(`${root}/resume-other/other.bin`, "keep me");
          await system.uploads!.discard(`${root}/resume-other/other.bin`, state);
          expect(await text(system, `${root}/resume-other/other.bin`)).toBe("keep me");
          await system.uploads!.discard(path, state);
          await system.uploads!.discard(path, state);
        });

        it("refuses to resume from an offset the upload does not hold: retryable Conflict, nothing written", async () => {
          const path = `${root}/resume-conflict/object.bin`;
          const state = await interruptedWrite(path, 12 * MiB);
          const body = resumableBody(content, 3 * PART);
          const error = await store
            .write(path, body, { partSize: PART, checkpoint: { resume: { state, offset: 3 * PART }, save: () => undefined } })
            .catch((e: unknown) => e);
          expect(error).toMatchObject({ name: "StowageError", code: "Conflict", retryable: true });
          await expectCode(system.stat(path), "NotFound");
        });
      });
  });
}
