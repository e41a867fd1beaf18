/**
 * The test sshd behind a counting TCP proxy, reachable as ssh host `alias`: an ssh config (made the
 * one Stowage reads, via STOWAGE_SSH_CONFIG) whose host goes through the proxy, with the host key
 * known under the proxy's port.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./process.js";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.js";

export async function sshThroughProxy(alias: string): Promise<TcpProxy> {
  const env = process.env;
  const proxy = await startTcpProxy(Number(env.STOWAGE_TEST_SSH_PORT));
  const dir = tempDir("ssh-proxy");
  const hostKey = readFileSync(env.STOWAGE_TEST_SSH_KNOWN_HOSTS!, "utf8").trim().split(/\s+/).slice(1).join(" ");
  writeFileSync(join(dir, "known_hosts"), `[127.0.0.1]:${proxy.port} ${hostKey}\n`);
  writeFileSync(
    join(dir, "config"),
    [
      `Host ${alias}`,
      "  HostName 127.0.0.1",
      `  Port ${proxy.port}`,
      `  User ${env.STOWAGE_TEST_SSH_USER}`,
      `  IdentityFile ${env.STOWAGE_TEST_SSH_KEY}`,
      "  IdentitiesOnly yes",
      `  UserKnownHostsFile ${join(dir, "known_hosts")}`,
      "",
    ].join("\n"),
  );
  env.STOWAGE_SSH_CONFIG = join(dir, "config");
  return proxy;
}
