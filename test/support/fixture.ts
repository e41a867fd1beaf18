/** What each system gives the conformance suite: how to open it and where it may write. */
import type { System, SystemName } from "../../src/systems/contract.js";

export interface SystemFixture {
  name: SystemName;
  /** Opens the system as a user would: from an address, with settings from the environment. */
  open(): Promise<System>;
  /**
   * Writable systems: a fresh, empty directory path for one test file (inside a bucket for object
   * stores), e.g. "/stowage-test/3f9c…". Read-only systems leave this out.
   */
  writableRoot?(): Promise<string>;
  /** The system offers `uploads` (resumable large writes); the suite checks the claim both ways. */
  resumableUploads?: boolean;
  /** The system offers `openRangeWriter` (a file written as several ranges at once); checked both ways. */
  rangeWrites?: boolean;
  /** Read-only systems: the path where the seed tree (test/support/seed.ts) is served. */
  seededRoot?(): Promise<string>;
  /** Called once after the suite, e.g. to close connections. */
  dispose?(): Promise<void>;
}
