/**
 * OpenSSH's default MaxSessions is 10 channels per connection, which SFTP channels, `cat` uploads
 * and command loops share (the shared test sshd allows 64). A second sshd with the default limit
 * takes a mixed upload (batches, large files through cat) and then a same-host copy of the batch.
 */
import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeSystems, copy, folder } from "../../src/index.js";
import { freePort, startProcess, stopProcess, tempDir, waitForPort } from "../support/process.js";
import { seededBytes } from "../support/seed.js";

const ALIAS = "ten-sessions";
let sshd: ChildProcess;

beforeAll(async () => {
  const sharedClientConfig = process.env.STOWAGE_SSH_CONFIG;
  const alias = process.env.STOWAGE_TEST_SSH_HOST;
  if (!sharedClientConfig || !alias) throw new Error("STOWAGE_SSH_CONFIG is not set: the sshd test server did not start");
  const serverDir = dirname(sharedClientConfig);
  const dir = tempDir("sshd-ten");
  const port = await freePort();
  const serverConfig = join(dir, "sshd_config");
  writeFileSync(
    serverConfig,
    readFileSync(join(serverDir, "sshd_config"), "utf8")
      .replace(/^Port .*/m, `Port ${port}`)
      .replace(/^PidFile .*/m, `PidFile ${join(dir, "sshd.pid")}`)
      .replace(/^MaxSessions .*/m, "MaxSessions 10"),
  );
  const log = join(dir, "sshd.log");
  sshd = startProcess("/usr/sbin/sshd", ["-D", "-e", "-f", serverConfig], log);
  await waitForPort(port, sshd, "sshd (MaxSessions 10)", log);
  // This test file's process only: an alias for the second server, trusting its (same) host key
  // through a known_hosts of its own (other test files read the shared one while this runs).
  const shared = readFileSync(sharedClientConfig, "utf8");
  const hostKey = readFileSync(process.env.STOWAGE_TEST_SSH_KNOWN_HOSTS!, "utf8").trim().split(/\s+/).slice(1).join(" ");
  const knownHosts = join(dir, "known_hosts");
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostKey}\n`);
  const ours = shared
    .replace(`Host ${alias}`, `Host ${ALIAS}`)
    .replace(/Port \d+/, `Port ${port}`)
    .replace(/UserKnownHostsFile .*/, `UserKnownHostsFile ${knownHosts}`);
  const clientConfig = join(dir, "ssh_config");
  writeFileSync(clientConfig, `${shared}\n${ours}`);
  process.env.STOWAGE_SSH_CONFIG = clientConfig;
});

afterAll(async () => {
  await closeSystems();
  if (sshd) await stopProcess(sshd);
});

describe("an SSH host with OpenSSH's default MaxSessions (10)", () => {
  it("takes many small files, large files through cat and same-host copies on one connection", async () => {
    const files: Record<string, Uint8Array> = {};
    for (let i = 0; i < 600; i++) files[`small/d${i % 5}/f${i}`] = seededBytes(3000 + i, i);
    for (let i = 0; i < 6; i++) files[`big/b${i}`] = seededBytes(9 << 20, 1000 + i);
    const source = join(tempDir("ten-src"), "src");
    await folder(source).put(files);
    const onHost = join(process.env.STOWAGE_TEST_SSH_DIR!, randomUUID());

    const upload = await copy(source, `ssh://${ALIAS}${onHost}`);
    expect(upload.failed).toEqual([]);
    expect(upload.copied).toHaveLength(606);
    const [sameHost] = await Promise.all([
      // Per file, server-side (`cp` in command loops sharing the channels), not the host's runner.
      copy(`ssh://${ALIAS}${onHost}/small`, `ssh://${ALIAS}${onHost}/small-copy`, { remote: "never" }),
      copy(join(source, "big"), `ssh://${ALIAS}${onHost}/big-again`),
    ]);
    expect(sameHost.ranOn).toEqual(["server-side"]);
    expect(sameHost.copied).toHaveLength(600);
    for (const i of [0, 299, 599]) expect(readFileSync(join(onHost, "small-copy", `d${i % 5}`, `f${i}`)).equals(files[`small/d${i % 5}/f${i}`]!)).toBe(true);
    expect(readFileSync(join(onHost, "big-again", "b5")).equals(files["big/b5"]!)).toBe(true);
  });
});
