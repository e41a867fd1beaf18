/**
 * The registry benchmark of issue 14: what a name costs with the team registry in an S3 bucket
 * (the Swift server the tests use), side by side in one interleaved run with the floor, a single
 * GetObject of a small object on the same server. Also a listing of 1,000 names. Round trips are
 * counted by a proxy in front of the server; times are medians over rounds. Writes the "Registry"
 * section of bench/RESULTS.md.
 *
 *   npx tsx bench/registry.ts [--rounds N]
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { parseAddress } from "../src/systems/addresses.js";
import { loadConfig } from "../src/systems/config.js";
import { parseName, RegistryStore } from "../src/registry/index.js";
import { writable } from "../src/systems/extensions.js";
import { versionKey } from "../src/registry/record.js";
import { SystemRegistry } from "../src/systems/registry.js";
import { startCountingProxy } from "../test/support/counting-proxy.js";
import { eachLimit } from "../test/support/measure.js";
import { writeResultsSection } from "./results.js";
import { startServers } from "./transfer/servers.js";

const rounds = Number(process.argv[process.argv.indexOf("--rounds") + 1]) || 30;
const BUCKET = "stowage-bench-registry";
const NAMES = 1000;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const servers = await startServers(["s3"]);
  Object.assign(process.env, servers.env);
  const proxy = await startCountingProxy(process.env.AWS_ENDPOINT_URL!);
  const systems = new SystemRegistry(() => ({ ...loadConfig(), s3: { ...loadConfig().s3, endpoint: proxy.url } }));
  const raw = new S3Client({
    endpoint: proxy.url,
    forcePathStyle: true,
    region: "us-east-1",
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  try {
    const address = parseAddress(`s3://${BUCKET}/registry`);
    const system = writable(await systems.open(address), "write");
    const store = new RegistryStore("team", address, () => systems.open(address));
    // A registry of 1,000 names; the one loaded has 5 versions.
    const names = Array.from({ length: NAMES }, (_, i) => `ds/n${String(i).padStart(4, "0")}`);
    await eachLimit(names, 32, (name) => system.write(`/${BUCKET}/registry/names/${name}/@v/${versionKey(1, "blob", `s3://data/${name}`)}`, "{}"));
    const target = parseName("@/ds/model");
    for (let i = 0; i < 5; i++) {
      await store.save(target, { type: "blob", address: { system: "s3", path: `/data/model-${i}` }, url: `s3://data/model-${i}` });
    }
    await raw.send(new PutObjectCommand({ Bucket: BUCKET, Key: "single/object.json", Body: "{}" }));

    const times = { load: [] as number[], get: [] as number[], list: [] as number[] };
    const requests = { load: 0, get: 0, list: 0 };
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? (["load", "get", "list"] as const) : (["get", "list", "load"] as const);
      for (const task of order) {
        proxy.reset();
        const started = performance.now();
        if (task === "load") await store.resolve(target);
        else if (task === "get") await (await raw.send(new GetObjectCommand({ Bucket: BUCKET, Key: "single/object.json" }))).Body!.transformToString();
        else if ((await store.list([], "@/")).length !== NAMES + 1) throw new Error("the listing lost names");
        times[task].push(performance.now() - started);
        requests[task] = proxy.requests.length;
      }
    }
    const ms = (task: keyof typeof times) => median(times[task]).toFixed(2);
    const section = `## Registry (bench/registry.ts)

Team registry in an S3 bucket on the local Swift server, through a request-counting proxy; ${rounds}
interleaved rounds, medians. The floor is one GetObject of a small object on the same server with
the AWS SDK.

| operation | requests | median ms | vs one GET |
|---|---|---|---|
| one GetObject (AWS SDK) | ${requests.get} | ${ms("get")} | 1.00× |
| \`load("@/ds/model")\` (5 versions) | ${requests.load} | ${ms("load")} | ${(median(times.load) / median(times.get)).toFixed(2)}× |
| \`list("@/")\` of ${NAMES + 1} names | ${requests.list} | ${ms("list")} | ${(median(times.list) / median(times.get)).toFixed(2)}× |

Goals (issue 14): a load costs at most two round trips (**${requests.load}**, ${requests.load <= 2 ? "met" : "missed"}); a listing of
1,000 names stays within a few LIST pages (**${requests.list}**, ${requests.list <= 3 ? "met" : "missed"}).
`;
    console.log(section);
    await writeResultsSection("## Registry (bench/registry.ts)", section);
  } finally {
    raw.destroy();
    await systems.closeAll();
    await proxy.close();
    await servers.stop();
  }
}

await main();
