/**
 * What the github system downloads, measured by the test server (bytes it sent per repository),
 * and how it authenticates and fails. The repository here holds a 48 MiB blob at the tip and a
 * second 24 MiB blob only in history, and does not offer `object-info`, so sizes come from blob
 * pack entry headers.
 */
import { createHash } from "node:crypto";
import { readRange } from "../../src/systems/extensions.js";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Address } from "../../src/address.js";
import { readAll } from "../../src/systems/body.js";
import type { System } from "../../src/systems/contract.js";
import { createGithubSystem } from "../../src/systems/github/system.js";
import { expectCode } from "../../src/testing/index.js";
import { buildRepository, git } from "../servers/git-fixture.js";
import { PRIVATE_OWNER, SERVED_REPO_CONFIG } from "../servers/git-http.js";
import { withPeakRss } from "../support/measure.js";
import { freePort } from "../support/process.js";
import { seededBytes } from "../support/seed.js";

const MiB = 1 << 20;
const SERVER = process.env.GITHUB_SERVER_URL!;
const ROOT = process.env.STOWAGE_TEST_GIT_ROOT!;
const HISTORY_REPO = `stowage/history-${process.pid}`;
const BIG_SIZE = 48 * MiB;
const OLD_SIZE = 24 * MiB;
const ADDRESS: Address = { system: "github", path: "/" };

const systems: System[] = [];
function open(address: Address = ADDRESS): System {
  const system = createGithubSystem(address, {});
  systems.push(system);
  return system;
}

/** Response bytes the server has sent for a repository so far. */
async function served(repo: string): Promise<number> {
  const response = await fetch(`${SERVER}/_stats/${repo}`);
  return ((await response.json()) as { bytes: number }).bytes;
}

/** The tip's big.bin, regenerated where needed rather than kept in memory between tests. */
function bigBody(): Buffer {
  return seededBytes(BIG_SIZE, 31);
}

beforeAll(async () => {
  await buildRepository(
    join(ROOT, `${HISTORY_REPO}.git`),
    [
      {
        branch: "main",
        message: "old",
        files: [
          ["old.bin", seededBytes(OLD_SIZE, 29)],
          ["small.txt", Buffer.from("v1\n")],
        ],
      },
      {
        branch: "main",
        message: "new",
        files: [
          ["big.bin", bigBody()],
          ["small.txt", Buffer.from("small\n")],
        ],
        deletes: ["old.bin"],
      },
    ],
    SERVED_REPO_CONFIG,
  );
}, 120_000);

afterAll(async () => {
  await Promise.all(systems.map((system) => system.close()));
});

describe("github downloads only what it needs", () => {
  it("stats and reads one small file for a small fraction of the repository's blobs", async () => {
    const system = open();
    const before = await served(HISTORY_REPO);
    expect(await system.stat(`/${HISTORY_REPO}@main/small.txt`)).toMatchObject({ type: "file", size: 6 });
    expect((await readAll(await system.read(`/${HISTORY_REPO}@main/small.txt`))).toString()).toBe("small\n");
    const received = (await served(HISTORY_REPO)) - before;
    console.log(`[github] stat + read of small.txt: ${received} bytes served (blobs in repo: ${(BIG_SIZE + OLD_SIZE) / MiB} MiB)`);
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(64 * 1024);
  });

  it("stats a 48 MiB file from its pack entry header without downloading it", async () => {
    const system = open();
    const before = await served(HISTORY_REPO);
    expect((await system.stat(`/${HISTORY_REPO}@main/big.bin`)).size).toBe(BIG_SIZE);
    const received = (await served(HISTORY_REPO)) - before;
    console.log(`[github] stat of big.bin: ${received} bytes served`);
    expect(received).toBeLessThan(BIG_SIZE / 4);
  });

  it("stops downloading once a range read has its bytes", async () => {
    const system = open();
    const before = await served(HISTORY_REPO);
    const head = await readAll(await readRange(system, `/${HISTORY_REPO}@main/big.bin`, { offset: 100, length: 1000 }));
    expect(head.equals(bigBody().subarray(100, 1100))).toBe(true);
    const received = (await served(HISTORY_REPO)) - before;
    console.log(`[github] 1000-byte range of big.bin: ${(received / MiB).toFixed(2)} MiB served`);
    expect(received).toBeLessThan(BIG_SIZE / 4);
  });

  it("streams the 48 MiB blob with bounded memory, byte-equal to git's object id", async () => {
    const system = open();
    const expectedId = git(["--git-dir", join(ROOT, `${HISTORY_REPO}.git`), "rev-parse", "main:big.bin"]).trim();
    const { result, rssGrowth } = await withPeakRss(async () => {
      const hash = createHash("sha1").update(`blob ${BIG_SIZE}\0`);
      let size = 0;
      for await (const chunk of await system.read(`/${HISTORY_REPO}@main/big.bin`)) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      return { id: hash.digest("hex"), size };
    });
    console.log(`[github] 48 MiB read: RSS growth ${(rssGrowth / MiB).toFixed(1)} MiB`);
    expect(result).toEqual({ id: expectedId, size: BIG_SIZE });
    // Buffering the blob would hold all of it (and its compressed pack) at once; streaming stays
    // below its size even with a busy machine's GC timing (10–35 MiB seen).
    expect(rssGrowth).toBeLessThan(BIG_SIZE);
  });

  it("never fetches history: the old 24 MiB blob is never sent", async () => {
    const system = open();
    const before = await served(HISTORY_REPO);
    const entries: string[] = [];
    for await (const entry of system.list(`/${HISTORY_REPO}@main`, { recursive: true })) entries.push(entry.path);
    expect(entries.sort()).toEqual([`/${HISTORY_REPO}@main/big.bin`, `/${HISTORY_REPO}@main/small.txt`]);
    // Listing learns big.bin's size from its header, as stat does; all of it stays far below 24 MiB.
    expect((await served(HISTORY_REPO)) - before).toBeLessThan(OLD_SIZE / 4);
  });
});

describe("github authentication and failures", () => {
  const secret = `${PRIVATE_OWNER}/secret-${process.pid}`;

  const unfiltered = `stowage/unfiltered-${process.pid}`;

  beforeAll(() => {
    git(["clone", "--quiet", "--bare", join(ROOT, `${HISTORY_REPO}.git`), join(ROOT, `${secret}.git`)]);
    for (const [key, value] of Object.entries(SERVED_REPO_CONFIG)) git(["--git-dir", join(ROOT, `${secret}.git`), "config", key, value]);
    // A clone keeps no server settings: this one refuses `filter`, like servers without partial clone.
    git(["clone", "--quiet", "--bare", join(ROOT, `${HISTORY_REPO}.git`), join(ROOT, `${unfiltered}.git`)]);
  });

  function withToken<T>(token: string | undefined, fn: () => T): T {
    const saved = process.env.GITHUB_TOKEN;
    if (token === undefined) delete process.env.GITHUB_TOKEN;
    else process.env.GITHUB_TOKEN = token;
    try {
      return fn();
    } finally {
      if (saved === undefined) delete process.env.GITHUB_TOKEN;
      else process.env.GITHUB_TOKEN = saved;
    }
  }

  it("sends GITHUB_TOKEN as x-access-token Basic auth", async () => {
    const system = withToken(process.env.STOWAGE_TEST_GITHUB_TOKEN, () => open());
    expect((await readAll(await system.read(`/${secret}@main/small.txt`))).toString()).toBe("small\n");
  });

  it("maps 401 and 403 to PermissionDenied", async () => {
    await expectCode(withToken(undefined, () => open()).stat(`/${secret}@main/small.txt`), "PermissionDenied", "github");
    await expectCode(withToken("wrong-token", () => open()).stat(`/${secret}@main/small.txt`), "PermissionDenied", "github");
  });

  it("refuses with Unsupported, downloading nothing big, when the server cannot filter out blobs", async () => {
    await expectCode(open().stat(`/${unfiltered}@main/small.txt`), "Unsupported", "github");
    expect(await served(unfiltered)).toBeLessThan(64 * 1024);
  });

  it("maps a refused connection to Unavailable, retryable", async () => {
    const system = open({ system: "github", path: "/", server: `http://127.0.0.1:${await freePort()}` });
    const error = await system.stat("/stowage/fixture@main/x").catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "Unavailable", retryable: true, system: "github", operation: "stat" });
  });

  it("aborts a read mid-stream when its signal fires", async () => {
    const controller = new AbortController();
    const stream = await open().read(`/${HISTORY_REPO}@main/big.bin`, { signal: controller.signal });
    let received = 0;
    const consumed = (async () => {
      for await (const chunk of stream) {
        received += (chunk as Buffer).length;
        if (received > MiB) controller.abort();
      }
    })();
    await expectCode(consumed, "Aborted");
    expect(received).toBeLessThan(BIG_SIZE);
  });
});
