/** Moved to src/testing (exported as stowage/testing); re-exported for the tests. */
export * from "../../src/testing/measure.js";
