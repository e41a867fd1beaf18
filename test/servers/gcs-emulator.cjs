// Runs the Cloud Storage emulator that ships inside npm `firebase-tools` WITHOUT its Java rules
// runtime. `firebase emulators:start --only storage` cannot run offline: firebase-tools 15 wants
// Java >= 21 and downloads cloud-storage-rules-runtime-*.jar on first start. The GCS JSON API routes
// use the emulator's admin storage layer, which never evaluates security rules, so no jar is needed.
//
// Env: FIREBASE_TOOLS_DIR (…/node_modules/firebase-tools), GCS_HOST, GCS_PORT, GCS_PROJECT.
// Object bytes live under os.tmpdir()/firebase/storage/blobs, so the caller sets TMPDIR.
"use strict";
const path = require("node:path");

const firebaseTools = process.env.FIREBASE_TOOLS_DIR;
if (!firebaseTools) {
  console.error("FIREBASE_TOOLS_DIR is not set");
  process.exit(2);
}
const host = process.env.GCS_HOST || "127.0.0.1";
const port = Number(process.env.GCS_PORT);
const projectId = process.env.GCS_PROJECT || "demo-test";
if (!Number.isInteger(port) || port <= 0) {
  console.error("GCS_PORT must be a port number");
  process.exit(2);
}

const { StorageEmulator } = require(path.join(firebaseTools, "lib/emulator/storage"));
const { createApp } = require(path.join(firebaseTools, "lib/emulator/storage/server"));
const { EmulatorRegistry } = require(path.join(firebaseTools, "lib/emulator/registry"));

(async () => {
  const emulator = new StorageEmulator({ projectId, host, port, auto_download: false });
  // selfLink, mediaLink and resumable-upload URLs are built from the registry entry.
  EmulatorRegistry.set("storage", emulator);
  const app = await createApp(projectId, emulator);
  const server = app.listen(port, host, () => console.log(`GCS emulator (firebase-tools, no rules runtime) on http://${host}:${port}`));
  const stop = () => {
    server.close();
    setTimeout(() => process.exit(0), 1500).unref();
    emulator._persistence
      .deleteAll()
      .catch(() => {})
      .finally(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
