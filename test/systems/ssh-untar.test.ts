/**
 * The batch-download archive reader against archives made by this machine's real tar (GNU) in
 * each format a host's tar may write: GNU (long names as 'L' members), POSIX ustar (prefix field),
 * pax (path records, as bsdtar writes), with hard links and directories mixed in.
 */
import { execFile } from "node:child_process";
import { link, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { tarArchive } from "../../src/systems/ssh/tar.js";
import { TarFormatError, untar } from "../../src/systems/ssh/untar.js";
import { tempDir } from "../support/process.js";
import { seededBytes } from "../support/seed.js";

const run = promisify(execFile);
const longDir = `${"deep-directory-name/".repeat(6)}leaf`; // 125 bytes: past ustar's 100-byte name field
const files: Record<string, Buffer> = {
  "plain.bin": seededBytes(10_000, 1),
  "empty.txt": Buffer.alloc(0),
  "block-exact.bin": seededBytes(1024, 2),
  "with space and ünïcode ✓.txt": seededBytes(700, 3),
  "-starts-with-dash": seededBytes(3, 4),
  "back\\slash.txt": seededBytes(5, 5),
  [`${longDir}/a-file-name-that-is-also-fairly-long-to-push-the-whole-path-well-past-one-hundred-bytes.bin`]: seededBytes(513, 6),
};
let root: string;

async function archive(format: string, names: string[], extra: string[] = []): Promise<Buffer> {
  const out = join(root, `${format}-${names.length}.tar`);
  await run("tar", ["-c", `--format=${format}`, "-f", out, "-C", join(root, "src"), ...extra, "--", ...names]);
  return readFile(out);
}

beforeAll(async () => {
  root = tempDir("untar");
  for (const [name, bytes] of Object.entries(files)) {
    await mkdir(join(root, "src", name, ".."), { recursive: true });
    await writeFile(join(root, "src", name), bytes);
  }
  await link(join(root, "src", "plain.bin"), join(root, "src", "hard-link.bin"));
});

describe("untar", () => {
  for (const format of ["gnu", "pax", "ustar"]) {
    it(`reads every file of a ${format} archive by name, byte for byte`, async () => {
      const members = untar(await archive(format, Object.keys(files)));
      expect([...members.keys()].sort()).toEqual(Object.keys(files).sort());
      for (const [name, bytes] of Object.entries(files)) expect(members.get(name)?.equals(bytes)).toBe(true);
    });
  }

  it("gives a hard link the bytes of the file it names", async () => {
    const members = untar(await archive("gnu", ["plain.bin", "hard-link.bin"]));
    expect(members.get("hard-link.bin")?.equals(files["plain.bin"]!)).toBe(true);
  });

  it("skips directories and strips a leading ./", async () => {
    const members = untar(await archive("gnu", ["./plain.bin", longDir.split("/")[0]!]));
    expect(members.get("plain.bin")?.equals(files["plain.bin"]!)).toBe(true);
    expect([...members.keys()].some((name) => name.endsWith("/"))).toBe(false);
    expect(members.size).toBe(2); // plain.bin and the one file inside the directory tree
  });

  it("reads the archives Stowage's own writer makes", () => {
    const members = untar(
      tarArchive([
        { name: "0", body: seededBytes(10, 7) },
        { name: "1", body: Buffer.alloc(0) },
      ]),
    );
    expect(members.get("0")?.equals(seededBytes(10, 7))).toBe(true);
    expect(members.get("1")?.length).toBe(0);
  });

  it("refuses a damaged header and a truncated archive", async () => {
    const good = await archive("gnu", ["plain.bin"]);
    const damaged = Buffer.from(good);
    damaged[10] = damaged[10]! ^ 0xff;
    expect(() => untar(damaged)).toThrow(TarFormatError);
    expect(() => untar(good.subarray(0, 512 + 100))).toThrow(TarFormatError);
  });
});
