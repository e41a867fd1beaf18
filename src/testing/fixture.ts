/** What a system gives the conformance suite: how to open it, where it may write, what it has. */
import type { ExtensionName, System } from "../systems/contract.js";

export interface SystemFixture {
  /** The system's name, as its errors carry it. */
  name: string;
  /** Opens the system as a user would: from an address, with settings from the environment. */
  open(): Promise<System>;
  /**
   * Writable systems: a fresh, empty directory path for one test file (inside a bucket for object
   * stores), e.g. "/stowage-test/3f9c…". Read-only systems leave this out.
   */
  writableRoot?(): Promise<string>;
  /**
   * The extensions the system has (`copy`, `exec`, `readRange`, `uploads`, …). The suite checks the
   * claim both ways (each present exactly when listed) and runs each one's behaviour tests.
   */
  extensions: readonly ExtensionName[];
  /** Read-only systems: the path where the seed tree (`seedTree()`) is served. */
  seededRoot?(): Promise<string>;
  /** Called once after the suite, e.g. to close connections. */
  dispose?(): Promise<void>;
}
