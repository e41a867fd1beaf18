/**
 * The `stowage` command end to end, as a shell user runs it: every command, its --json shape, its
 * exit codes and error lines; quickstart in a fresh HOME; names as places; a table round trip.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/process.js";
import { freshUrl } from "../registry/helpers.js";

const execFileAsync = promisify(execFile);
let env: NodeJS.ProcessEnv;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function stowage(...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { env, maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

beforeAll(() => {
  // A fresh HOME: no config, no registry, no cache, as on a new machine (the servers' variables stay).
  const home = tempDir("cli-home");
  // Without the test run's own switch for the AWS SDK's Node-version notice: users must not see it.
  const { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: _notice, ...inherited } = process.env;
  env = { ...inherited, HOME: home, XDG_CACHE_HOME: "", XDG_DATA_HOME: "", XDG_CONFIG_HOME: "", STOWAGE_HOME: "", STOWAGE_TEAM_REGISTRY: "" };
});

describe("stowage quickstart", () => {
  it("tours the local default in a fresh HOME and leaves things only where it says", async () => {
    const run = await stowage("quickstart", "--json");
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as {
      steps: string[];
      names: Array<{ name: string; type: string; url: string }>;
      registry: string;
      seconds: number;
      next: string[];
    };
    expect(report.names.map((n) => [n.name, n.type])).toEqual([
      ["~/quickstart/greeting", "blob"],
      ["~/quickstart/measurements", "table"],
      ["~/quickstart/sample", "folder"],
      ["~/quickstart/sample-copy", "folder"],
    ]);
    const home = env.HOME!;
    for (const name of report.names) expect(name.url.startsWith(join(home, ".cache", "stowage"))).toBe(true);
    expect(report.registry).toBe(join(home, ".local", "share", "stowage", "registry"));
    // Nothing else in HOME: the cache and the data directory (the registry) only.
    expect(readdirSync(home).sort()).toEqual([".cache", ".local"]);
    expect(report.steps.length).toBeGreaterThanOrEqual(6);

    const human = await stowage("table", "count", "~/quickstart/measurements", "--filter", "split=train");
    expect(human.stdout.trim()).toBe("8000");
    const cleaned = await stowage("quickstart", "--clean", "--json");
    expect(JSON.parse(cleaned.stdout).removed).toHaveLength(4);
    for (const name of report.names) expect(existsSync(name.url)).toBe(false);
  });
});

describe("stowage table", () => {
  it("writes CSV and JSON lines to a bucket, then counts, fetches, heads, streams and shows the schema", async () => {
    const dir = tempDir("cli-table");
    writeFileSync(join(dir, "a.csv"), 'id,split,x,label\n1,train,0.25,"a, quoted"\n2,test,0.75,b\n3,train,0.9,c\n');
    writeFileSync(join(dir, "b.jsonl"), '{"id":4,"split":"test","x":0.1,"label":"d"}\n{"id":5,"split":"train","x":0.6,"label":"e"}\n');
    const { url } = await freshUrl("s3", "cli-table");
    const dry = await stowage("table", "write", join(dir, "a.csv"), url, "--dry-run", "--json");
    expect(JSON.parse(dry.stdout)).toMatchObject({ url, rows: 3, dryRun: true });
    expect((await stowage("table", "count", url)).code).toBe(3);
    const written = await stowage("table", "write", join(dir, "a.csv"), join(dir, "b.jsonl"), url, "--partition-cols", "split", "--json");
    expect(written.stderr).toBe("");
    expect(JSON.parse(written.stdout)).toMatchObject({ url, rows: 5, files: 2, mode: "overwrite", dryRun: false });

    expect(JSON.parse((await stowage("table", "count", url, "--json")).stdout)).toEqual({ rows: 5 });
    expect((await stowage("table", "count", url, "--filter", "x>0.5", "--filter", "split=train")).stdout.trim()).toBe("2");
    const fetched = await stowage("table", "fetch", url, "--columns", "id,label", "--filter", "x>0.5", "--format", "json");
    expect(
      fetched.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line))
        .sort((a, b) => a.id - b.id),
    ).toEqual([
      { id: 2, label: "b" },
      { id: 3, label: "c" },
      { id: 5, label: "e" },
    ]);
    const csv = await stowage("table", "fetch", url, "--columns", "id,label", "--filter", "id=1", "--format", "csv");
    expect(csv.stdout).toBe('id,label\n1,"a, quoted"\n');
    const grid = await stowage("table", "head", url, "-n", "2", "--format", "grid");
    expect(grid.stdout.split("\n")[0]!.split(/\s+/).sort()).toEqual(["id", "label", "split", "x"]);
    expect(grid.stdout.split("\n")[1]).toMatch(/^─+\s+─+/);
    expect(grid.stdout).toContain("(2 rows)");
    const schema = JSON.parse((await stowage("table", "schema", url, "--json")).stdout) as Array<{ name: string; type: string }>;
    expect(schema.map((f) => f.name).sort()).toEqual(["id", "label", "split", "x"]);
    expect(schema.find((f) => f.name === "x")!.type).toBe("Float64");
    const streamed = await stowage("table", "stream", url, "--batch-size", "2", "--shuffle-seed", "7");
    expect(
      streamed.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line).id)
        .sort(),
    ).toEqual([1, 2, 3, 4, 5]);
    const shard = await stowage("table", "stream", url, "--shard", "0/2", "--json");
    expect(shard.code).toBe(0);
  });

  it("gives usage errors exit code 2 and a missing table exit code 3", async () => {
    expect((await stowage("table", "count")).code).toBe(2);
    expect((await stowage("table", "fetch", "x", "--filter", "nonsense")).code).toBe(2);
    expect((await stowage("table", "frobnicate")).code).toBe(2);
    const missing = await stowage("table", "count", join(tempDir("cli-none"), "none"));
    expect(missing.code).toBe(3);
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
    expect(missing.stderr).toContain("NotFound");
  });
});

describe("stowage name and cluster", () => {
  it("saves a place under a name, uses the name as a place, shows history, and removes it", async () => {
    const dir = tempDir("cli-names");
    writeFileSync(join(dir, "weights.bin"), "weights-v1");
    const saved = await stowage("name", "save", join(dir, "weights.bin"), "models/bert", "--json");
    expect(saved.stderr).toBe("");
    expect(JSON.parse(saved.stdout)).toEqual({ name: "~/models/bert", type: "blob", version: 1, url: join(dir, "weights.bin") });
    await stowage("name", "save", join(dir, "weights.bin"), "models/bert", "--note", "again");
    expect((await stowage("cat", "~/models/bert")).stdout).toBe("weights-v1");
    expect(JSON.parse((await stowage("name", "load", "~/models/bert@1", "--json")).stdout)).toMatchObject({ version: 1, type: "blob" });
    const history = JSON.parse((await stowage("name", "history", "~/models/bert", "--json")).stdout) as Array<{ version: number; note?: string }>;
    expect(history.map((h) => [h.version, h.note])).toEqual([
      [1, undefined],
      [2, "again"],
    ]);
    const listed = JSON.parse((await stowage("name", "ls", "~/models/", "--json")).stdout) as Array<{ name: string; version: number }>;
    expect(listed).toMatchObject([{ name: "~/models/bert", version: 2, type: "blob" }]);
    const copied = await stowage("cp", "--json", "~/models/bert", join(dir, "copy.bin"));
    expect(JSON.parse(copied.stdout)).toMatchObject({ bytes: 10, failed: [] });
    expect((await stowage("name", "rm", "~/models/bert", "--json")).code).toBe(0);
    expect((await stowage("name", "load", "~/models/bert")).code).toBe(3);
    expect(existsSync(join(dir, "weights.bin"))).toBe(true);
    expect((await stowage("name", "save", join(dir, "nothing-here"), "x")).code).toBe(3);
    expect((await stowage("name", "save", join(dir, "weights.bin"), "../escape")).code).toBe(2);
  });

  it("saves a cluster and reaches it as name:/path", async () => {
    const host = process.env.STOWAGE_TEST_SSH_HOST!;
    const saved = await stowage("cluster", "save", "cli-box", host, "--json");
    expect(JSON.parse(saved.stdout)).toMatchObject({ name: "~/cli-box", kind: "cluster", host });
    const listed = JSON.parse((await stowage("cluster", "ls", "--json")).stdout) as Array<{ name: string }>;
    expect(listed.map((c) => c.name)).toContain("~/cli-box");
    const dir = `${process.env.STOWAGE_TEST_SSH_DIR}/cli-${Date.now()}`;
    const local = tempDir("cli-cluster");
    writeFileSync(join(local, "a.txt"), "on the box\n");
    expect((await stowage("cp", "--quiet", local, `cli-box:${dir}`)).code).toBe(0);
    expect((await stowage("cat", `cli-box:${dir}/a.txt`)).stdout).toBe("on the box\n");
    expect(JSON.parse((await stowage("du", `ssh://cli-box${dir}`, "--json")).stdout)).toMatchObject({ files: 1, bytes: 11 });
    expect((await stowage("cluster", "rm", "cli-box")).code).toBe(0);
  });
});

describe("stowage files", () => {
  it("stat, du, mv and rm --dry-run, with --json shapes", async () => {
    const dir = tempDir("cli-files");
    writeFileSync(join(dir, "a.txt"), "12345");
    const stat = JSON.parse((await stowage("stat", join(dir, "a.txt"), "--json")).stdout);
    expect(stat).toMatchObject({ type: "file", size: 5, url: join(dir, "a.txt") });
    expect(typeof stat.mtime).toBe("string");
    const moved = await stowage("mv", "--json", dir, `${dir}-moved`);
    expect(JSON.parse(moved.stdout)).toMatchObject({ removedSource: true, failed: [] });
    expect(existsSync(dir)).toBe(false);
    const dry = await stowage("rm", "--dry-run", `${dir}-moved`);
    expect(dry.stdout).toContain("would remove");
    expect(existsSync(join(`${dir}-moved`, "a.txt"))).toBe(true);
    expect(JSON.parse((await stowage("du", `${dir}-moved`, "--json")).stdout)).toMatchObject({ files: 1, bytes: 5 });
  });

  it("cat into a reader that stops early ends cleanly", async () => {
    const dir = tempDir("cli-pipe");
    writeFileSync(join(dir, "big.bin"), Buffer.alloc(8 << 20, 7));
    const result = await new Promise<{ code: number | null; stderr: string; bytes: number }>((resolve) => {
      const shell = spawn(
        "bash",
        ["-o", "pipefail", "-c", `${process.execPath} --import tsx src/cli/main.ts cat ${join(dir, "big.bin")} | head -c 10 | wc -c`],
        { env },
      );
      let stdout = "";
      let stderr = "";
      shell.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
      shell.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      shell.on("close", (code) => resolve({ code, stderr, bytes: Number(stdout.trim()) }));
    });
    expect(result.bytes).toBe(10);
    expect(result.stderr).toBe("");
  });

  it("prints help, exit codes, and one error line with a hint (the cause chain with --debug)", async () => {
    const help = await stowage("--help");
    for (const command of ["quickstart", "cp|sync|mv", "ls", "cat", "stat", "du", "rm", "table head", "name save", "cluster save", "doctor"]) {
      expect(help.stdout).toContain(`stowage ${command}`);
    }
    expect((await stowage("help", "exit-codes")).stdout).toMatch(/3\s+not found/);
    const missing = await stowage("cat", join(tempDir("cli-err"), "nope"));
    expect(missing.code).toBe(3);
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
    expect(missing.stderr).toMatch(/NotFound.*stowage ls/);
    const debug = await stowage("cat", join(tempDir("cli-err"), "nope"), "--debug");
    expect(debug.stderr).toContain("caused by:");
    expect((await stowage("ls", "s3:/bucket")).code).toBe(2);
    expect((await stowage("frobnicate")).code).toBe(2);
    expect((await stowage("ls", "--no-such-flag", ".")).code).toBe(2);
  });
});

describe("stowage doctor", () => {
  it("reports systems, credential sources (never values) and registries", async () => {
    const registry = await freshUrl("s3", "doctor-registry");
    const run = await stowage("doctor", "--json");
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as {
      node: string;
      systems: Array<{ system: string; sources: string[]; configured: boolean }>;
      registries: Array<{ scope: string; url?: string; reachable?: boolean }>;
    };
    expect(report.node).toBe(process.version);
    const s3 = report.systems.find((s) => s.system === "s3")!;
    expect(s3.configured).toBe(true);
    expect(s3.sources).toContain("$AWS_ACCESS_KEY_ID");
    expect(run.stdout).not.toContain(process.env.AWS_SECRET_ACCESS_KEY!);
    expect(run.stdout).not.toContain(process.env.AZURE_STORAGE_CONNECTION_STRING!);
    expect(report.registries[1]).toEqual({ scope: "team", url: undefined });

    env = { ...env, STOWAGE_TEAM_REGISTRY: registry.url };
    const withTeam = JSON.parse((await stowage("doctor", "--json")).stdout) as typeof report;
    expect(withTeam.registries[1]).toMatchObject({ scope: "team", url: registry.url, reachable: true });
    env = { ...env, STOWAGE_TEAM_REGISTRY: "" };
  });
});
