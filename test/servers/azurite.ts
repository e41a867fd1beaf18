/**
 * Azurite (the Azure Storage emulator from npm), blob service only, on a free 127.0.0.1 port with
 * its data in a temp dir.
 *
 * --skipApiVersionCheck: @azure/storage-blob 12.32 sends x-ms-version 2026-04-06, newer than
 *   Azurite 3.35.0 knows; without the flag every request gets 400.
 * --disableTelemetry: Azurite otherwise reports usage to Application Insights (outbound traffic).
 */
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, startProcess, stopProcess, tempDir, waitForPort, type RunningServer } from "../support/process.js";

const AZURITE = process.env.AZURITE_DIR ?? fileURLToPath(new URL("../../servers/node_modules/azurite", import.meta.url));
const BLOB_MAIN = join(AZURITE, "dist/src/blob/main.js");

/** The emulator's well-known development account (public, documented by Microsoft). */
export const DEV_ACCOUNT = "devstoreaccount1";
export const DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export async function startAzurite(): Promise<RunningServer> {
  if (!existsSync(BLOB_MAIN)) {
    throw new Error(`Azurite not found at ${AZURITE}: run \`npm run setup:test\``);
  }
  const port = await freePort();
  const dir = tempDir("azurite");
  const logFile = join(dir, "azurite.log");
  const args = [BLOB_MAIN, "--blobHost", "127.0.0.1", "--blobPort", String(port), "--location", join(dir, "data")];
  args.push("--disableTelemetry", "--skipApiVersionCheck", "--silent");
  const child = startProcess(process.execPath, args, logFile);
  try {
    await waitForPort(port, child, "Azurite", logFile);
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
  const endpoint = `http://127.0.0.1:${port}/${DEV_ACCOUNT}`;
  return {
    name: "azurite",
    env: {
      AZURE_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_KEY};BlobEndpoint=${endpoint};`,
      AZURE_STORAGE_ACCOUNT: DEV_ACCOUNT,
      AZURE_STORAGE_KEY: DEV_KEY,
    },
    async stop() {
      await stopProcess(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
