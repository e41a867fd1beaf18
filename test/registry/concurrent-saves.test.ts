/**
 * Eight processes save one name at the same instant, on a team registry on each system (Swift's S3
 * API has no conditional writes): every save succeeds and all eight versions stay, each loading
 * the bytes its own process wrote.
 */
import { afterAll, describe, expect, it } from "vitest";
import { Blob, closeSystems } from "../../src/index.js";
import { REGISTRY_SYSTEMS, freshLocalHome, freshTeamRegistry, freshUrl, runScript } from "./helpers.js";

const WRITERS = 8;

afterAll(closeSystems);

describe.each(REGISTRY_SYSTEMS)("concurrent saves of one name on %s", (system) => {
  it(`keeps all ${WRITERS} versions`, async () => {
    freshLocalHome();
    const registry = await freshTeamRegistry(system);
    const data = await freshUrl(system, "data");
    const startAt = Date.now() + 6000;
    const contents = Array.from({ length: WRITERS }, (_, i) => `writer ${i} on ${system}`);
    const urls = contents.map((_, i) => `${data.url}/writer-${i}.txt`);
    const children = await Promise.all(
      contents.map((content, i) =>
        runScript("child-save.ts", ["@/race/model", urls[i]!, content, String(startAt)], { ...process.env, STOWAGE_TEAM_REGISTRY: registry }),
      ),
    );
    for (const child of children) {
      expect(child.stderr).toBe("");
      expect(child.code).toBe(0);
      expect(JSON.parse(child.stdout).version).toBeGreaterThanOrEqual(1);
    }

    const latest = await Blob.fromName("@/race/model");
    const history = await latest.history();
    expect(history.map((entry) => entry.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(new Set(history.map((entry) => entry.address))).toEqual(new Set(urls));
    for (const entry of history) {
      const version = await Blob.fromName(`@/race/model@${entry.version}`);
      expect(version.url).toBe(entry.address);
      expect(await version.fetch("utf8")).toBe(contents[urls.indexOf(entry.address)]);
    }
  });
});
