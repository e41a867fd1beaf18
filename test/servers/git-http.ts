/**
 * The github test server: git's own smart-HTTP backend (`git http-backend`, protocol v2) behind a
 * small Node server (git-http-server.mjs), read-only, on a free 127.0.0.1 port, with repositories
 * in a temp GIT_PROJECT_ROOT. At start it builds `stowage/fixture.git`:
 *
 *   main:       commit 1 = the seed tree without big.bin, plus history.bin (only in history)
 *               commit 2 = big.bin added, history.bin deleted → main serves exactly the seed tree
 *   v1.0:       annotated tag on commit 1
 *   feature/x:  commit 2 + feature.txt, a symlink "link" → nested/top.txt, a submodule "vendor/lib"
 */
import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BIG_SEED_PATH, bigSeed, seedTree, seededBytes } from "../support/seed.js";
import { freePort, startProcess, stopProcess, tempDir, waitForPort, type RunningServer } from "../support/process.js";
import { buildRepository, git } from "./git-fixture.js";

const SERVER_SCRIPT = fileURLToPath(new URL("./git-http-server.mjs", import.meta.url));

export const FIXTURE_REPO = "stowage/fixture";
/** Repositories of this owner need GITHUB_TOKEN-style Basic auth. */
export const PRIVATE_OWNER = "private";
export const HISTORY_ONLY_PATH = "history.bin";
export const FEATURE_FILE = "feature.txt";

/** Settings every served repository needs for partial fetches of single objects. */
export const SERVED_REPO_CONFIG = {
  "uploadpack.allowFilter": "true",
  "uploadpack.allowAnySHA1InWant": "true",
  "http.receivepack": "false",
};

export async function startGitHttp(): Promise<RunningServer> {
  git(["--version"]);
  const dir = tempDir("git");
  const projectRoot = join(dir, "repos");
  const started = Date.now();
  const seed = [...seedTree()];
  await buildRepository(
    join(projectRoot, `${FIXTURE_REPO}.git`),
    [
      { branch: "main", message: "seed", files: [...seed, [HISTORY_ONLY_PATH, seededBytes(2 << 20, 5)]], tag: "v1.0" },
      { branch: "main", message: "big file", files: [[BIG_SEED_PATH, bigSeed()]], deletes: [HISTORY_ONLY_PATH] },
      {
        branch: "feature/x",
        from: 1,
        message: "feature",
        files: [[FEATURE_FILE, Buffer.from("feature\n")]],
        symlinks: [["link", "nested/top.txt"]],
        submodules: [["vendor/lib", "1234567890abcdef1234567890abcdef12345678"]],
      },
    ],
    // object-info gives sizes without fetching blobs; git-http-server.mjs advertises it only with this.
    { ...SERVED_REPO_CONFIG, "transfer.advertiseObjectInfo": "true" },
  );
  const built = Date.now() - started;

  const port = await freePort();
  const token = randomBytes(16).toString("hex");
  const logFile = join(dir, "git-http.log");
  const child = startProcess(process.execPath, [SERVER_SCRIPT], logFile, {
    env: {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: projectRoot,
      GIT_HTTP_PORT: String(port),
      GIT_HTTP_PRIVATE_OWNER: PRIVATE_OWNER,
      GIT_HTTP_TOKEN: token,
    },
  });
  try {
    await waitForPort(port, child, "git smart-HTTP server", logFile);
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
  process.stdout.write(`[servers] git-http: fixture built in ${built} ms, ready in ${Date.now() - started} ms\n`);
  return {
    name: "git-http",
    env: {
      GITHUB_SERVER_URL: `http://127.0.0.1:${port}`,
      STOWAGE_TEST_GITHUB_REPO: FIXTURE_REPO,
      STOWAGE_TEST_GIT_ROOT: projectRoot,
      STOWAGE_TEST_GITHUB_TOKEN: token,
    },
    async stop() {
      await stopProcess(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
