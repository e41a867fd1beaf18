/** Addresses of the test systems, as a user would write them, for tests through the public API. */
import type { Address } from "../../src/address.js";
import type { SystemName } from "../../src/systems/contract.js";
import type { SystemFixture } from "./fixture.js";

export function placeOn(system: SystemName, path: string): Address {
  if (system === "ssh") {
    const host = process.env.STOWAGE_TEST_SSH_HOST;
    if (!host) throw new Error("STOWAGE_TEST_SSH_HOST is not set: the sshd test server did not start");
    return { system, host, path };
  }
  return { system, path };
}

const FIXTURES: Record<SystemName, () => Promise<{ fixture: SystemFixture }>> = {
  file: () => import("../conformance/fixtures/file.js"),
  ssh: () => import("../conformance/fixtures/ssh.js"),
  s3: () => import("../conformance/fixtures/s3.js"),
  gs: () => import("../conformance/fixtures/gs.js"),
  azure: () => import("../conformance/fixtures/azure.js"),
  github: () => import("../conformance/fixtures/github.js"),
};

export async function loadFixture(system: SystemName): Promise<SystemFixture> {
  const fixture = FIXTURES[system];
  if (!fixture) throw new Error(`no conformance fixture for ${system}`);
  return (await fixture()).fixture;
}

/**
 * A STOWAGE_REMOTE_COMMAND that runs this checkout's runner from source (the test host is this
 * machine), for copies that run on an SSH host without the bundle.
 */
export function localRemoteCommand(): string {
  return `${process.execPath} --import ${process.cwd()}/node_modules/tsx/dist/loader.mjs ${process.cwd()}/src/remote/main.ts`;
}
