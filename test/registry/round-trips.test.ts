/**
 * What a name costs on the wire with the team registry in an S3 bucket, counted by a proxy in front
 * of the server: a load is one LIST and one GET; a listing of 1,200 names is two LIST pages.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAddress } from "../../src/systems/addresses.js";
import { blob, closeSystems, list } from "../../src/index.js";
import { parseName, RegistryStore } from "../../src/registry/index.js";
import { versionKey } from "../../src/registry/record.js";
import { writable } from "../../src/systems/extensions.js";
import { SystemRegistry } from "../../src/systems/registry.js";
import { loadConfig } from "../../src/systems/config.js";
import { startCountingProxy, type CountingProxy } from "../support/counting-proxy.js";
import { eachLimit } from "../support/measure.js";
import { freshLocalHome, freshTeamRegistry, freshUrl } from "./helpers.js";

let proxy: CountingProxy;
let counted: SystemRegistry;
let registryUrl: string;

beforeAll(async () => {
  freshLocalHome();
  registryUrl = await freshTeamRegistry("s3");
  proxy = await startCountingProxy(process.env.AWS_ENDPOINT_URL!);
  // The same registry, reached through the proxy.
  counted = new SystemRegistry(() => ({ ...loadConfig(), s3: { ...loadConfig().s3, endpoint: proxy.url } }));
});

afterAll(async () => {
  await counted.closeAll();
  await proxy.close();
  await closeSystems();
});

function countedStore(): RegistryStore {
  const address = parseAddress(registryUrl);
  return new RegistryStore("team", address, () => counted.open(address));
}

describe("round trips to a team registry on S3", () => {
  it("loads a name with one LIST and one GET, whatever its number of versions", async () => {
    const { url } = await freshUrl("s3", "data");
    const b = blob({ data: "payload", path: `${url}/x.bin` });
    for (let i = 0; i < 5; i++) await b.save("@/costs/model");
    const store = countedStore();
    proxy.reset();
    const { version, record } = await store.resolve(parseName("@/costs/model"));
    expect(version).toBe(5);
    expect(record.url).toBe(b.url);
    expect(proxy.requests.map((r) => r.split(" ")[0])).toEqual(["GET", "GET"]);
    expect(proxy.requests[0]).toContain("list-type=2");
    proxy.reset();
    await store.resolve(parseName("@/costs/model@2"));
    expect(proxy.requests.length).toBe(2);
  });

  it("lists 1,200 names in two LIST pages, reading no record", async () => {
    const system = writable(await counted.open(parseAddress(registryUrl)), "write");
    const root = parseAddress(registryUrl).path;
    const names = Array.from({ length: 1200 }, (_, i) => `bulk/n${String(i).padStart(4, "0")}`);
    await eachLimit(names, 32, async (name) => {
      await system.write(`${root}/names/${name}/@v/${versionKey(1, "blob", `s3://data/${name}`)}`, JSON.stringify({ format: 1 }));
    });
    proxy.reset();
    const store = countedStore();
    const entries = await store.list(["bulk"], "@/bulk/");
    expect(entries.length).toBe(1200);
    expect(entries[7]).toMatchObject({ name: "@/bulk/n0007", type: "blob", version: 1, url: "s3://data/bulk/n0007" });
    expect(proxy.requests.length).toBe(2);
    expect(proxy.requests.every((r) => r.includes("list-type=2"))).toBe(true);
    // The public list() gives the same answer.
    expect((await list("@/", { prefix: "bulk/" })).length).toBe(1200);
  });
});
