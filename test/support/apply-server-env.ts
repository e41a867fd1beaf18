/** Runs in each test worker: points the providers' own environment variables at the test servers. */
import { inject } from "vitest";

Object.assign(process.env, inject("serverEnv"), {
  // AWS SDK versions for Node 20 warn on every process start; the warning is about future releases.
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
});
