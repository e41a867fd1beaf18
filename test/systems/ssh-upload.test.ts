/**
 * The ssh system's write paths against the test sshd: large streams through `cat` on an exec
 * channel, small files over several SFTP channels. The host's disk (this machine) checks the result.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAddress } from "../../src/address.js";
import { SystemRegistry } from "../../src/systems/registry.js";
import { catInto, CatFailedError, hostHasCat, startCat } from "../../src/systems/ssh/exec-upload.js";
import type { SshSystem } from "../../src/systems/ssh/index.js";
import { seededBytes, seededStream } from "../support/seed.js";
import { codeOf, freshDir, serverEnv } from "./ssh-helpers.js";

const MiB = 1 << 20;
const registry = new SystemRegistry();
let system: SshSystem;

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/** A stream of `blocks` seeded 1 MiB blocks that fails or aborts after `stopAfter` of them. */
function stoppingStream(blocks: number, stopAfter: number, stop: (stream: Readable) => void): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent === stopAfter) return stop(this);
      if (sent === blocks) return void this.push(null);
      this.push(seededBytes(MiB, ++sent));
    },
  });
}

beforeAll(async () => {
  system = (await registry.open(parseAddress({ system: "ssh", host: serverEnv().alias, path: "/" }))) as SshSystem;
});
afterAll(() => registry.closeAll());

describe("large streams through cat", () => {
  it("the test host runs commands in a POSIX shell with cat", async () => {
    const { client } = await system.connection.session();
    expect(await hostHasCat(client)).toBe(true);
  });

  it("catInto writes the stream byte-exact over an existing file", async () => {
    const dir = freshDir();
    await system.mkdir(dir);
    writeFileSync(`${dir}/target.bin`, "old content that is longer than nothing");
    const { client } = await system.connection.session();
    const { stream, sha256: sent } = seededStream(40 * MiB + 5, 31);
    expect(await catInto(await startCat(client, `${dir}/target.bin`), stream, undefined)).toBe(40 * MiB + 5);
    expect(sha256(readFileSync(`${dir}/target.bin`))).toBe(sent());
  });

  it("catInto reports a cat that cannot write as CatFailedError with its exit code", async () => {
    const dir = freshDir();
    const { client } = await system.connection.session();
    const failed = await catInto(await startCat(client, `${dir}/missing-parent/x.bin`), Readable.from([Buffer.from("x")]), undefined).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(CatFailedError);
    expect((failed as CatFailedError).exitCode).not.toBe(0);
  });

  it("once an aborted catInto has settled, nothing more reaches the file", async () => {
    const dir = freshDir();
    await system.mkdir(dir);
    const { client } = await system.connection.session();
    const controller = new AbortController();
    const body = stoppingStream(64, 8, () => controller.abort());
    const failed = await catInto(await startCat(client, `${dir}/partial.bin`), body, controller.signal).catch((error: unknown) => error);
    expect((failed as Error).name).toBe("AbortError");
    const size = statSync(`${dir}/partial.bin`).size;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(statSync(`${dir}/partial.bin`).size).toBe(size);
    expect(size).toBeLessThanOrEqual(8 * MiB);
  });

  it("a large stream lands byte-exact under its name, with no part file left", async () => {
    const dir = freshDir();
    const { stream, sha256: sent } = seededStream(48 * MiB + 17, 32);
    const result = await system.write(`${dir}/sub/big.bin`, stream, { size: 48 * MiB + 17 });
    expect(result.size).toBe(48 * MiB + 17);
    expect(sha256(readFileSync(`${dir}/sub/big.bin`))).toBe(sent());
    expect(readdirSync(`${dir}/sub`)).toEqual(["big.bin"]);
  });

  it("an aborted large write leaves neither the file nor a part file", async () => {
    const dir = freshDir();
    await system.mkdir(dir);
    const controller = new AbortController();
    const body = stoppingStream(64, 12, () => controller.abort());
    expect(await codeOf(system.write(`${dir}/aborted.bin`, body, { size: 64 * MiB, signal: controller.signal }))).toBe("Aborted");
    expect(readdirSync(dir)).toEqual([]);
  });

  it("a large write whose source fails leaves the old file as it was", async () => {
    const dir = freshDir();
    await system.write(`${dir}/kept.bin`, "the old version");
    const body = stoppingStream(64, 10, (stream) => stream.destroy(new Error("source failed mid-stream")));
    expect(await codeOf(system.write(`${dir}/kept.bin`, body, { size: 64 * MiB }))).toBeDefined();
    expect(readFileSync(`${dir}/kept.bin`, "utf8")).toBe("the old version");
    expect(readdirSync(dir)).toEqual(["kept.bin"]);
  });

  it("overwrite: false refuses an existing file with AlreadyExists and keeps it", async () => {
    const dir = freshDir();
    await system.write(`${dir}/taken.bin`, "first");
    const { stream } = seededStream(16 * MiB, 33);
    expect(await codeOf(system.write(`${dir}/taken.bin`, stream, { size: 16 * MiB, overwrite: false }))).toBe("AlreadyExists");
    expect(readFileSync(`${dir}/taken.bin`, "utf8")).toBe("first");
    expect(readdirSync(dir)).toEqual(["taken.bin"]);
  });

  it("more large writes at once than cat channels all land byte-exact (the rest go over SFTP)", async () => {
    const dir = freshDir();
    const streams = Array.from({ length: 7 }, (_, i) => seededStream(9 * MiB + 4 + i, 40 + i));
    await Promise.all(streams.map(({ stream }, i) => system.write(`${dir}/f${i}.bin`, stream, { size: 9 * MiB + 4 + i })));
    streams.forEach(({ sha256: sent }, i) => expect(sha256(readFileSync(`${dir}/f${i}.bin`))).toBe(sent()));
    expect(readdirSync(dir).sort()).toEqual(streams.map((_, i) => `f${i}.bin`).sort());
  });
});

describe("small files over several SFTP channels", () => {
  it("many concurrent small writes each land whole, with no part file left", async () => {
    const dir = freshDir();
    const count = 400;
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < count) {
          const i = next++;
          await system.write(`${dir}/d${i % 7}/f${i}.bin`, seededBytes(10_240 + i, i));
        }
      }),
    );
    for (let i = 0; i < count; i++) expect(readFileSync(`${dir}/d${i % 7}/f${i}.bin`).equals(seededBytes(10_240 + i, i))).toBe(true);
    const names = Array.from({ length: 7 }, (_, d) => readdirSync(`${dir}/d${d}`)).flat();
    expect(names).toHaveLength(count);
    expect(names.some((name) => name.endsWith(".stowage-part"))).toBe(false);
  });
});
