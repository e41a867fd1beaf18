/**
 * The Cloud Storage emulator from npm `firebase-tools`, run by our own launcher (gcs-emulator.cjs)
 * without the Java rules runtime, on a free 127.0.0.1 port with its blobs in a temp dir.
 */
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, startProcess, stopProcess, tempDir, waitForPort, type RunningServer } from "../support/process.js";

const PROJECT = "demo-test";
const LAUNCHER = fileURLToPath(new URL("./gcs-emulator.cjs", import.meta.url));
const FIREBASE_TOOLS = process.env.FIREBASE_TOOLS_DIR ?? fileURLToPath(new URL("../../servers/node_modules/firebase-tools", import.meta.url));

export async function startGcsEmulator(): Promise<RunningServer> {
  if (!existsSync(join(FIREBASE_TOOLS, "lib/emulator/storage/server.js"))) {
    throw new Error(`firebase-tools (Cloud Storage emulator) not found at ${FIREBASE_TOOLS}: run \`npm run setup:test\``);
  }
  const port = await freePort();
  const dir = tempDir("gcs");
  const logFile = join(dir, "emulator.log");
  const child = startProcess(process.execPath, [LAUNCHER], logFile, {
    // The emulator keeps uploaded bytes under os.tmpdir().
    env: { ...process.env, TMPDIR: dir, FIREBASE_TOOLS_DIR: FIREBASE_TOOLS, GCS_HOST: "127.0.0.1", GCS_PORT: String(port), GCS_PROJECT: PROJECT },
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForPort(port, child, "GCS emulator", logFile);
    await waitForListBuckets(url, logFile);
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
  return {
    name: "gcs",
    env: { STORAGE_EMULATOR_HOST: url, GOOGLE_CLOUD_PROJECT: PROJECT, GCLOUD_PROJECT: PROJECT },
    async stop() {
      await stopProcess(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The port opens before the routes are mounted; `GET /b` answering means the JSON API is up. */
async function waitForListBuckets(url: string, logFile: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/b?project=${PROJECT}`);
      await response.arrayBuffer();
      if (response.status < 500) return;
    } catch {
      // not accepting requests yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`GCS emulator at ${url} did not answer GET /b within ${timeoutMs} ms; see ${logFile}`);
}
