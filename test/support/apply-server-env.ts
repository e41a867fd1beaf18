/**
 * Runs in each test worker: points the providers' own environment variables at the test servers,
 * and removes the file's temp dirs once its own hooks have run (afterAll hooks run last-registered
 * first, and this one is registered before the file's).
 */
import { afterAll, inject } from "vitest";
import { removeTempDirs } from "./process.js";

Object.assign(process.env, inject("serverEnv"), {
  // AWS SDK versions for Node 20 warn on every process start; the warning is about future releases.
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
});

afterAll(removeTempDirs);
