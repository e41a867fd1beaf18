/**
 * `stowage/testing`: the behaviour tests every Stowage system passes, for anyone writing a system.
 * Runs under Vitest (an optional peer dependency):
 *
 *   import { defineConformanceSuite } from "stowage/testing";
 *   defineConformanceSuite({ name: "webdav", open: () => openMySystem(), writableRoot: async () => "/tmp-x", extensions: ["copy"] });
 */
export { defineConformanceSuite, expectCode } from "./conformance.js";
export type { SystemFixture } from "./fixture.js";
export { BIG_SEED_PATH, BIG_SEED_SIZE, bigSeed, seedTree, seededBytes, seededStream } from "./seed.js";
