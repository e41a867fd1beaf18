/**
 * Small files to an SSH host travel in batches (one tar archive per batch, unpacked on the host):
 * the engine's side. Real sshd; the host is this machine, so its disk checks what arrived.
 */
import { randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { StowageError, TransferError, closeSystems, copy, folder, openSystem } from "../../src/index.js";
import type { System } from "../../src/systems/contract.js";
import { tempDir } from "../support/process.js";
import { seededBytes } from "../support/seed.js";

const host = process.env.STOWAGE_TEST_SSH_HOST!;
const count = 300;
const contents = Array.from({ length: count }, (_, i) => seededBytes(1000 + i * 37, i));
const relative = (i: number) => `d${i % 5}/f${i}.bin`;
let source: string;
let ssh: System;

/** A fresh destination on the host: its URL and where it is on this machine's disk. */
function destination(): { url: string; onDisk: string } {
  const onDisk = join(process.env.STOWAGE_TEST_SSH_DIR!, `batches-${randomUUID()}`);
  return { url: `ssh://${host}${onDisk}`, onDisk };
}

async function expectAllLanded(onDisk: string): Promise<void> {
  for (let i = 0; i < count; i++) expect((await readFile(join(onDisk, relative(i)))).equals(contents[i]!)).toBe(true);
  const names = (await readdir(onDisk, { recursive: true })).map(String);
  expect(names.filter((name) => name.includes(".stowage-"))).toEqual([]);
}

beforeAll(async () => {
  if (!host) throw new Error("STOWAGE_TEST_SSH_HOST is not set: the sshd test server did not start");
  source = join(tempDir("ssh-batches"), "src");
  await folder(source).put(Object.fromEntries(contents.map((bytes, i) => [relative(i), bytes])));
  ssh = await openSystem(`ssh://${host}/`);
  expect(ssh.batches).toBeDefined();
});
afterEach(() => vi.restoreAllMocks());
afterAll(() => closeSystems());

describe("local → ssh small files in batches", () => {
  it("sends many small files in a few batches, each landing byte-exact", async () => {
    const writeMany = vi.spyOn(ssh.batches!, "writeMany");
    const { url, onDisk } = destination();
    const report = await copy(source, url);
    expect(report.copied).toHaveLength(count);
    expect(report.failed).toEqual([]);
    expect(report.bytes).toBe(contents.reduce((sum, bytes) => sum + bytes.length, 0));
    const batched = writeMany.mock.calls.reduce((sum, [files]) => sum + files.length, 0);
    expect(batched).toBe(count);
    expect(writeMany.mock.calls.length).toBeLessThanOrEqual(Math.ceil(count / ssh.batches!.maxFiles) + 1);
    await expectAllLanded(onDisk);
  });

  it("a host that cannot batch (Unsupported) gets every file one by one, and is asked once", async () => {
    const writeMany = vi
      .spyOn(ssh.batches!, "writeMany")
      .mockRejectedValue(new StowageError({ code: "Unsupported", system: "ssh", message: "no tar on the host" }));
    const { url, onDisk } = destination();
    const report = await copy(source, url, { concurrency: 1 });
    expect(report.copied).toHaveLength(count);
    expect(writeMany).toHaveBeenCalledTimes(1);
    await expectAllLanded(onDisk);
  });

  it("a file the batch refuses is retried alone and reported with its own error; the rest land", async () => {
    const { url, onDisk } = destination();
    await folder(url).put({ [relative(7)]: "already here" });
    const error = await copy(source, url, { overwrite: false, retries: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransferError);
    const report = (error as TransferError).report;
    expect(report.failed.map((failure) => [failure.path, failure.error.code])).toEqual([[relative(7), "AlreadyExists"]]);
    expect(report.copied).toHaveLength(count - 1);
    expect(await readFile(join(onDisk, relative(7)), "utf8")).toBe("already here");
    expect((await readFile(join(onDisk, relative(8)))).equals(contents[8]!)).toBe(true);
  });

  it("a re-run after everything landed copies nothing again", async () => {
    const { url } = destination();
    await copy(source, url);
    const writeMany = vi.spyOn(ssh.batches!, "writeMany");
    const rerun = await copy(source, url, { skip: "size-mtime" });
    expect(rerun.copied).toEqual([]);
    expect(rerun.skipped).toHaveLength(count);
    expect(writeMany).not.toHaveBeenCalled();
  });
});

describe("ssh → local small files in batches", () => {
  /** The files of `source`, sent to a fresh directory on the host: its URL there. */
  async function onHost(): Promise<string> {
    const { url } = destination();
    await copy(source, url);
    return url;
  }

  async function expectAllLocal(dir: string): Promise<void> {
    for (let i = 0; i < count; i++) expect((await readFile(join(dir, relative(i)))).equals(contents[i]!)).toBe(true);
  }

  it("brings many small files back in a few packed batches, each landing byte-exact", async () => {
    const from = await onHost();
    const readMany = vi.spyOn(ssh.batchReads!, "readMany");
    const read = vi.spyOn(ssh, "read");
    const to = join(tempDir("ssh-batch-reads"), "out");
    const report = await copy(from, to);
    expect(report.copied).toHaveLength(count);
    expect(readMany.mock.calls.reduce((sum, [paths]) => sum + paths.length, 0)).toBe(count);
    expect(readMany.mock.calls.length).toBeLessThanOrEqual(Math.ceil(count / ssh.batchReads!.maxFiles) + 1);
    expect(read).not.toHaveBeenCalled();
    await expectAllLocal(to);
  });

  it("a file a batch did not bring is read alone; a host that cannot pack gets every file read alone, asked once", async () => {
    const from = await onHost();
    const real = ssh.batchReads!.readMany.bind(ssh.batchReads);
    // The host's tar skipping one file (it vanished, say) comes back as that file's error.
    vi.spyOn(ssh.batchReads!, "readMany").mockImplementation(async (paths, options) =>
      (await real(paths, options)).map((outcome, index) => (paths[index]!.endsWith(`/${relative(7)}`) ? new Error("not packed") : outcome)),
    );
    const read = vi.spyOn(ssh, "read");
    const to = join(tempDir("ssh-batch-reads"), "out");
    expect((await copy(from, to)).copied).toHaveLength(count);
    expect(read.mock.calls.map(([path]) => path)).toEqual([expect.stringMatching(new RegExp(`/${relative(7)}$`))]);
    await expectAllLocal(to);

    vi.restoreAllMocks();
    const refused = vi
      .spyOn(ssh.batchReads!, "readMany")
      .mockRejectedValue(new StowageError({ code: "Unsupported", system: "ssh", message: "no tar on the host" }));
    const again = join(tempDir("ssh-batch-reads"), "out");
    expect((await copy(from, again, { concurrency: 1 })).copied).toHaveLength(count);
    expect(refused).toHaveBeenCalledTimes(1);
    await expectAllLocal(again);
  });
});
