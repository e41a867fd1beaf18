/**
 * Tests of one system know which extensions it has; `full()` lets them call those without a
 * check at every call. It checks the writes at once, and a missing extension still fails its test
 * (a call of undefined).
 */
import type { Extensions, System, Writes } from "../../src/systems/contract.js";
import { canWrite } from "../../src/systems/extensions.js";

export type FullSystem = System & Writes & Extensions;

export function full(system: System): FullSystem {
  if (!canWrite(system)) throw new Error(`${system.name} stores nothing: full() is for writable systems`);
  return system as FullSystem;
}
