/**
 * Every ```ts block of the README, run exactly as printed (only the package name is pointed at this
 * checkout) in a program of its own against the real test servers, and the CLI lines of "One line
 * per system" run as a shell user types them. The examples' hosts, buckets and repository are made
 * real through the environment only: an ssh config with the aliases gpu-box and web1 for the test
 * sshd, the providers' own endpoint variables, and a repository org/repo at tag v1.2 on the git server.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { userInfo } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Blob, Cluster, blob, closeSystems, folder, list, table } from "../../src/index.js";
import { expectCode } from "../../src/testing/index.js";
import { freshLocalHome, freshTeamRegistry } from "../registry/helpers.js";
import { cliReference } from "../../scripts/cli-reference.js";
import { buildRepository } from "../servers/git-fixture.js";
import { SERVED_REPO_CONFIG } from "../servers/git-http.js";
import { localRemoteCommand } from "../support/places.js";
import { tempDir } from "../support/process.js";
import { readmeBlock, readmeBlocks, runCli, runExample } from "./readme.js";

/** The blocks this file runs or checks, by the heading they sit under; a new block fails the coverage test until it is here. */
const TS_BLOCKS_RUN = ["# Stowage", "## One line per system", "## Names", "## Tables"];
/** The install commands (run by .ci/run), the one-line CLI examples (run here), the CLI synopsis (checked against the CLI's usage). */
const SH_BLOCKS = ["# Stowage", "## One line per system", "## CLI"];

const CONFIGS: Array<[string, Buffer]> = [
  ["configs/train.yaml", Buffer.from("lr: 0.001\nepochs: 3\n")],
  ["configs/eval/metrics.yaml", Buffer.from("metrics: [accuracy]\n")],
  ["README.md", Buffer.from("# repo\n")],
];
const BYTES = Buffer.from([0x53, 0x54, 0x4f, 0x57]);
const MODEL = Buffer.alloc(4096, "weights");

/** The test sshd runs on this machine as this user, so the examples' `~/ckpts` and `~/www` on gpu-box and web1 are here. */
const HOST_HOME = userInfo().homedir;
const HOST_DIRS = [join(HOST_HOME, "ckpts"), join(HOST_HOME, "www")];
let ownsHostDirs = false;

/** Where the examples run: their working directory and environment. */
let cwd: string;
let env: NodeJS.ProcessEnv;

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: the test servers did not start (run with every system)`);
  return value;
}

/** An ssh config naming the test sshd gpu-box and web1, as a user's ~/.ssh/config names their hosts. */
function sshAliases(dir: string): string {
  const file = join(dir, "ssh_config");
  writeFileSync(
    file,
    [
      "Host gpu-box web1",
      "  HostName 127.0.0.1",
      `  Port ${required("STOWAGE_TEST_SSH_PORT")}`,
      `  User ${required("STOWAGE_TEST_SSH_USER")}`,
      `  IdentityFile ${required("STOWAGE_TEST_SSH_KEY")}`,
      "  IdentitiesOnly yes",
      `  UserKnownHostsFile ${required("STOWAGE_TEST_SSH_KNOWN_HOSTS")}`,
      "",
    ].join("\n"),
  );
  return file;
}

beforeAll(async () => {
  const taken = HOST_DIRS.filter((dir) => existsSync(dir));
  if (taken.length > 0) throw new Error(`the README example writes ${taken.join(", ")} on the test sshd's host (this machine): move it away first`);
  ownsHostDirs = true;
  await buildRepository(join(required("STOWAGE_TEST_GIT_ROOT"), "org/repo.git"), [{ branch: "main", message: "configs", files: CONFIGS, tag: "v1.2" }], {
    ...SERVED_REPO_CONFIG,
    "transfer.advertiseObjectInfo": "true",
  });
  cwd = tempDir("readme-cwd");
  env = {
    ...process.env,
    STOWAGE_HOME: tempDir("readme-home"),
    XDG_CACHE_HOME: tempDir("readme-cache"),
    STOWAGE_SSH_CONFIG: sshAliases(tempDir("readme-ssh")),
    // gpu-box is this machine: it runs this checkout's runner (from source) for the copy out of it.
    STOWAGE_REMOTE_COMMAND: localRemoteCommand(),
  };
});

afterAll(async () => {
  await closeSystems();
  if (ownsHostDirs) await Promise.all(HOST_DIRS.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** The files under a folder, path → content. */
async function contents(url: string): Promise<Record<string, string>> {
  const place = folder(url);
  const names = await place.ls({ recursive: true });
  const files = names.filter((name) => !name.endsWith("/"));
  return Object.fromEntries(await Promise.all(files.map(async (name) => [name, (await place.get(name)).toString("hex")] as const)));
}

const hex = (text: string | Buffer) => Buffer.from(text).toString("hex");

describe("README", () => {
  it("runs every ```ts block here, and keeps the first two commands", () => {
    expect(
      readmeBlocks()
        .filter((block) => block.lang === "ts")
        .map((block) => block.heading),
    ).toEqual(TS_BLOCKS_RUN);
    expect(
      readmeBlocks()
        .filter((block) => block.lang === "sh")
        .map((block) => block.heading),
    ).toEqual(SH_BLOCKS);
    expect(readmeBlocks().filter((block) => block.lang !== "ts" && block.lang !== "sh")).toEqual([]);
    expect(readmeBlock("# Stowage", "sh")).toBe("npm ci && node dist/cli/main.js quickstart\nnpm run setup:test && npm test\n");
    const pkg = JSON.parse(readFileSync(join(process.cwd(), "package.json"), "utf8")) as { bin: Record<string, string>; scripts: Record<string, string> };
    expect(pkg.bin.stowage).toBe("./dist/cli/main.js");
    expect(Object.keys(pkg.scripts)).toEqual(expect.arrayContaining(["prepare", "setup:test", "test"]));
  });

  it("CLI: the synopsis names only commands and options the CLI has", () => {
    const reference = cliReference();
    const has = (command: string) => new RegExp(`^stowage ${command.replace(/[|]/g, "\\|")}( |$)`, "m").test(reference);
    const checked: string[] = [];
    for (const line of readmeBlock("## CLI", "sh").trimEnd().split("\n")) {
      for (const usage of line.replace(/\s+#.*$/, "").split(/\s+(?=stowage )/)) {
        const [, first = "", second = ""] = usage.split(/\s+/);
        // A subcommand where the CLI has them ("table write", each of "name load|history|rm"), else the command as printed ("cp|sync|mv").
        const subs = second.split("|");
        const commands = subs.some((sub) => has(`${first} ${sub}`)) ? subs.map((sub) => `${first} ${sub}`) : [first];
        for (const command of commands) expect(has(command), `${usage}: no "stowage ${command}"`).toBe(true);
        for (const option of usage.match(/(?<=\s|\[)--?[A-Za-z][\w-]*/g) ?? [])
          expect(reference, `${usage}: ${option}`).toMatch(new RegExp(`[\\s\\[]${option}\\b`));
        checked.push(usage);
      }
    }
    expect(checked.length).toBeGreaterThanOrEqual(15);
  });

  it("opening example: runs as printed and puts every file where it says", async () => {
    const run = await runExample(readmeBlock("# Stowage"), { cwd, env, timeoutMs: 200_000 });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("[ 'remote-host' ]");

    const ckpts = { "a.txt": hex("hello"), "sub/b.bin": hex(BYTES) };
    expect(await contents(join(cwd, "ckpts"))).toEqual(ckpts);
    expect(await contents("s3://team-bucket/ckpts")).toEqual(ckpts);
    expect(await contents(`ssh://${required("STOWAGE_TEST_SSH_HOST")}/~/ckpts`)).toEqual(ckpts);
    expect(await contents("gs://other-bucket/ckpts")).toEqual(ckpts);
    expect(Buffer.compare(await blob("az://models/model.bin").fetch(), MODEL)).toBe(0);
    expect(await contents("s3://team-bucket/configs")).toEqual({ "train.yaml": hex(CONFIGS[0]![1]), "eval/metrics.yaml": hex(CONFIGS[1]![1]) });
    // sync left the source map out.
    expect(await contents(`ssh://${required("STOWAGE_TEST_SSH_HOST")}/~/www`)).toEqual({ "index.html": hex("<h1>Hello</h1>"), "app.js": "" });
  }, 240_000);

  it("One line per system: the library lines and the CLI lines list the same places", async () => {
    const run = await runExample(readmeBlock("## One line per system"), { cwd, env });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);

    // One listing per system, in the block's order: file, ssh, s3, gs, azure, github.
    const listings = [["a.txt", "sub"], ["a.txt", "sub"], ["a.txt", "sub"], ["a.txt", "sub"], ["model.bin"], ["eval", "train.yaml"]];
    expect(run.stdout).toBe(listings.map((names) => `[ ${names.map((name) => `'${name}'`).join(", ")} ]\n`).join(""));

    const lines = readmeBlock("## One line per system", "sh").trimEnd().split("\n");
    expect(lines).toHaveLength(listings.length);
    const runs = await Promise.all(
      lines.map((line) => {
        const [command, ...args] = line.split(" ");
        expect(command).toBe("stowage");
        return runCli(args, { cwd, env });
      }),
    );
    for (const [index, cli] of runs.entries()) {
      // The CLI marks folders with a trailing slash.
      const names = listings[index]!.map((name) => (name === "sub" || name === "eval" ? `${name}/` : name));
      expect({ line: lines[index], code: cli.code, stderr: cli.stderr, stdout: cli.stdout }).toEqual({
        line: lines[index],
        code: 0,
        stderr: "",
        stdout: names.map((name) => `${name}\n`).join(""),
      });
    }
  }, 240_000);

  it("Tables: runs as printed; the copy is in GCS and the S3 table is gone", async () => {
    const run = await runExample(readmeBlock("## Tables"), { cwd, env });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("2\n6\n");
    const copied = table({ path: "gs://other-bucket/ds/bert_preproc" });
    expect(await copied.count()).toBe(6);
    expect(await copied.count({ filter: [["split", "=", "test"]] })).toBe(2);
    expect(await copied.metadata()).toEqual({ source: "wiki" });
    expect(await table({ path: "s3://team-bucket/ds/bert_preproc" }).exists()).toBe(false);
  });
});

describe("README: Names", () => {
  let home: string;

  beforeAll(async () => {
    home = freshLocalHome();
    await freshTeamRegistry("s3");
  });

  it("runs as printed, and leaves the registries as it says", async () => {
    const run = await runExample(readmeBlock("## Names"), { cwd: tempDir("readme-names"), env: { ...process.env, STOWAGE_HOME: home } });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);

    expect((await (await Blob.fromName("my_blob")).fetch()).toString()).toBe("weights");
    const box = await Cluster.fromName("gpu-box");
    expect([box.host, box.user, box.port]).toEqual(["10.1.2.3", "ubuntu", 22]);
    expect((await list("@/")).map((entry) => entry.name)).not.toContain("@/bert_tokenized");
    await expectCode(Blob.fromName("@/bert_tokenized"), "NotFound");
  });
});
