/** Moved to src/testing (exported as stowage/testing); re-exported for the tests. */
export * from "../../src/testing/seed.js";
