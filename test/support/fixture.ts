/** Moved to src/testing (exported as stowage/testing); re-exported for the tests. */
export type { SystemFixture } from "../../src/testing/fixture.js";
