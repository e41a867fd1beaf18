import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Every real server is started once for the whole run; a server that fails to start fails it.
    globalSetup: ["test/support/global-setup.ts"],
    setupFiles: ["test/support/apply-server-env.ts"],
    pool: "forks",
    // Two cores: two test files at a time keeps the servers from starving.
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    reporters: ["default", "./test/support/summary-reporter.ts"],
  },
});
