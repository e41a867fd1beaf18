/**
 * The copy matrix: every source × destination pair among file, ssh, s3, gs and azure (github as a
 * source), through the public API, content verified byte for byte at the destination.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeSystems, copy, folder } from "../../src/index.js";
import type { SystemName } from "../../src/systems/contract.js";
import type { SystemFixture } from "../support/fixture.js";
import { sha256 } from "../support/measure.js";
import { loadFixture, localRemoteCommand, placeOn } from "../support/places.js";
import { seededBytes, seedTree } from "../support/seed.js";

const WRITABLE: SystemName[] = ["file", "ssh", "s3", "gs", "azure"];
const SOURCES: SystemName[] = [...WRITABLE, "github"];
/** Systems whose credentials a host can be given (`exportCredentials`). */
const BUCKETS: SystemName[] = ["s3", "gs", "azure"];

const tree: Record<string, Buffer> = {
  "a.txt": Buffer.from("alpha\n"),
  "dir/big.bin": seededBytes(5 * (1 << 20) + 3, 9),
  "dir/spaced name #1 ü.txt": Buffer.from("special\n"),
  "empty.bin": Buffer.alloc(0),
};
/** From the github fixture's seed tree: the same kinds of files, served read-only. */
const githubTree = ["nested/top.txt", "nested/a/b/deep.txt", "special/with space.txt", "empty.bin"];

describe("copy between every pair of systems", () => {
  const fixtures = new Map<SystemName, SystemFixture>();
  const roots = new Map<SystemName, string>();
  const seed = seedTree();

  beforeAll(async () => {
    process.env.STOWAGE_REMOTE_COMMAND = localRemoteCommand();
    for (const system of SOURCES) fixtures.set(system, await loadFixture(system));
    await Promise.all(
      WRITABLE.map(async (system) => {
        const root = await fixtures.get(system)!.writableRoot!();
        roots.set(system, root);
        await folder(placeOn(system, `${root}/source`)).put(tree);
      }),
    );
  });

  afterAll(async () => {
    await Promise.all(
      WRITABLE.map((system) =>
        folder(placeOn(system, roots.get(system)!))
          .rm()
          .catch(() => {}),
      ),
    );
    await Promise.all([...fixtures.values()].map(async (f) => f.dispose?.()));
    await closeSystems();
  });

  for (const from of SOURCES) {
    for (const to of WRITABLE) {
      it(`${from} → ${to}`, async () => {
        const source = from === "github" ? placeOn("github", `${await fixtures.get("github")!.seededRoot!()}`) : placeOn(from, `${roots.get(from)!}/source`);
        const destination = placeOn(to, `${roots.get(to)!}/from-${from}`);
        const include = from === "github" ? githubTree : undefined;
        const report = await copy(source, destination, include ? { include } : {});
        const expected = from === "github" ? Object.fromEntries(githubTree.map((p) => [p, seed.get(p)!])) : tree;
        expect(report.copied.map((f) => f.path).sort()).toEqual(Object.keys(expected).sort());
        expect(report.failed).toEqual([]);
        // Inside one system it copies itself; a folder inside one SSH host is copied by the runner there.
        if (from === to) expect(report.ranOn).toEqual([from === "ssh" ? "remote-host" : "server-side"]);
        // A copy out of the SSH host to a bucket, or from a bucket into it, runs on the host itself.
        else if ((from === "ssh" && to !== "file") || (to === "ssh" && BUCKETS.includes(from))) expect(report.ranOn).toEqual(["remote-host"]);
        else expect(report.ranOn).toEqual(["caller"]);
        const landed = folder(destination);
        expect(await landed.ls({ recursive: true })).toEqual(Object.keys(expected).sort());
        for (const [name, content] of Object.entries(expected)) {
          expect(sha256(await landed.get(name)), `${from} → ${to}: ${name}`).toBe(sha256(content));
        }
      });
    }
  }
});
