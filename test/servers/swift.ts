/**
 * OpenStack Swift (Debian packages) with the s3api middleware, as the S3-compatible test server.
 * Five processes on free 127.0.0.1 ports: memcached (tempauth needs it), the account, container and
 * object servers, and the proxy that speaks S3. Config, rings and data live in one temp dir; nothing
 * is written to /etc/swift. Credentials are tempauth's "test:tester" / "testing".
 *
 * The checksum variables (AWS_REQUEST_CHECKSUM_CALCULATION...) are deliberately not emitted: the s3
 * system must cope with an S3-compatible endpoint by itself.
 */
import type { ChildProcess } from "node:child_process";
import { execFile } from "node:child_process";
import { access, constants, mkdir, rm, writeFile } from "node:fs/promises";
import { userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort, startProcess, stopProcess, tempDir, waitForPort, type RunningServer } from "../support/process.js";

const run = promisify(execFile);

const BINARIES = [
  "/usr/bin/swift-proxy-server",
  "/usr/bin/swift-account-server",
  "/usr/bin/swift-container-server",
  "/usr/bin/swift-object-server",
  "/usr/bin/swift-ring-builder",
  "/usr/bin/memcached",
];

const STORAGE_SERVERS = ["account", "container", "object"] as const;
/** The secret of the second tempauth user, long and unlike any path, so a search for it finds only leaks. */
const EXPLICIT_SECRET = "x7Kq9vR2mZ4tW8pL3nB6cF1hJ5dG0sY";
type StorageServer = (typeof STORAGE_SERVERS)[number];

async function checkBinaries(): Promise<void> {
  const missing: string[] = [];
  for (const binary of BINARIES) {
    await access(binary, constants.X_OK).catch(() => missing.push(binary));
  }
  if (missing.length > 0) {
    throw new Error(
      `swift not found (${missing.join(", ")}): run \`npm run setup:test\` ` +
        "(apt-get install --no-install-recommends swift-proxy swift-account swift-container swift-object memcached)",
    );
  }
}

function commonConf(dir: string, port: number, user: string): string {
  return `[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${port}
workers = 0
devices = ${dir}/srv
mount_check = false
swift_dir = ${dir}/etc
user = ${user}
log_level = INFO
`;
}

function storageServerConf(dir: string, server: StorageServer, port: number, user: string): string {
  return `${commonConf(dir, port, user)}
[pipeline:main]
pipeline = ${server}-server

[app:${server}-server]
use = egg:swift#${server}
`;
}

function proxyConf(dir: string, port: number, memcachedPort: number, user: string): string {
  // Filter sections whose egg entry point is the section name with "_" for "-".
  const plainFilters = [
    "catch_errors",
    "gatekeeper",
    "healthcheck",
    "proxy-logging",
    "listing_formats",
    "bulk",
    "copy",
    "slo",
    "dlo",
    "versioned_writes",
    "symlink",
  ];
  return `[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${port}
workers = 0
swift_dir = ${dir}/etc
user = ${user}
log_level = INFO

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk s3api tempauth copy slo dlo versioned_writes symlink proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
allow_account_management = true

[filter:s3api]
use = egg:swift#s3api
location = us-east-1
s3_acl = false
allow_multipart_uploads = true
dns_compliant_bucket_names = true
max_multi_delete_objects = 1000

[filter:tempauth]
use = egg:swift#tempauth
user_admin_admin = admin .admin .reseller_admin
user_test_tester = testing .admin
user_test_explicit = ${EXPLICIT_SECRET} .admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:${memcachedPort}

${plainFilters.map((name) => `[filter:${name}]\nuse = egg:swift#${name.replace("-", "_")}\n`).join("\n")}`;
}

const SWIFT_CONF = `[swift-hash]
swift_hash_path_suffix = stowage-test-suffix
swift_hash_path_prefix = stowage-test-prefix

[storage-policy:0]
name = Policy-0
default = yes
`;

/** One ring per storage server type, one device, one replica (a single-node cluster). */
async function buildRing(etc: string, server: StorageServer, port: number): Promise<void> {
  const builder = `${server}.builder`;
  await run("swift-ring-builder", [builder, "create", "10", "1", "1"], { cwd: etc });
  await run("swift-ring-builder", [builder, "add", `r1z1-127.0.0.1:${port}/d1`, "100"], { cwd: etc });
  await run("swift-ring-builder", [builder, "rebalance"], { cwd: etc });
}

/** Waits until the proxy's /healthcheck answers 200, failing early if the proxy exits. */
async function waitForHealthcheck(port: number, proxy: ChildProcess, logFile: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proxy.exitCode !== null || proxy.signalCode !== null) throw new Error(`swift proxy exited before /healthcheck answered; see ${logFile}`);
    const ok = await fetch(`http://127.0.0.1:${port}/healthcheck`).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`swift proxy did not answer /healthcheck on port ${port} within ${timeoutMs} ms; see ${logFile}`);
}

export async function startSwift(): Promise<RunningServer> {
  await checkBinaries();
  const started = Date.now();
  const dir = tempDir("swift");
  const etc = join(dir, "etc");
  const logs = join(dir, "logs");
  await Promise.all([mkdir(etc), mkdir(join(dir, "srv", "d1"), { recursive: true }), mkdir(logs)]);
  const user = userInfo().username;
  const [proxyPort, memcachedPort, accountPort, containerPort, objectPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const ports: Record<StorageServer, number> = { account: accountPort, container: containerPort, object: objectPort };

  await writeFile(join(etc, "swift.conf"), SWIFT_CONF);
  await writeFile(join(etc, "proxy-server.conf"), proxyConf(dir, proxyPort, memcachedPort, user));
  await Promise.all(STORAGE_SERVERS.map((server) => writeFile(join(etc, `${server}-server.conf`), storageServerConf(dir, server, ports[server], user))));
  await Promise.all(STORAGE_SERVERS.map((server) => buildRing(etc, server, ports[server])));

  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.allSettled(children.map((child) => stopProcess(child)));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const memcachedLog = join(logs, "memcached.log");
    // TCP on loopback only, UDP off; -u is required when running as root.
    const memcached = startProcess("/usr/bin/memcached", ["-l", "127.0.0.1", "-p", String(memcachedPort), "-U", "0", "-m", "64", "-u", user], memcachedLog);
    children.push(memcached);
    // -v logs to stderr too: there is no syslog daemon to receive Swift's logs.
    const servers = STORAGE_SERVERS.map((server) => {
      const logFile = join(logs, `${server}.log`);
      const child = startProcess(`/usr/bin/swift-${server}-server`, [join(etc, `${server}-server.conf`), "-v"], logFile);
      children.push(child);
      return { server, child, logFile };
    });
    const proxyLog = join(logs, "proxy.log");
    const proxy = startProcess("/usr/bin/swift-proxy-server", [join(etc, "proxy-server.conf"), "-v"], proxyLog);
    children.push(proxy);

    await Promise.all([
      waitForPort(memcachedPort, memcached, "memcached", memcachedLog),
      ...servers.map(({ server, child, logFile }) => waitForPort(ports[server], child, `swift ${server} server`, logFile)),
    ]);
    await waitForHealthcheck(proxyPort, proxy, proxyLog);
  } catch (error) {
    await stop();
    throw error;
  }
  process.stdout.write(`[servers] swift s3api on 127.0.0.1:${proxyPort} started in ${Date.now() - started} ms\n`);

  return {
    name: "swift",
    env: {
      AWS_ENDPOINT_URL: `http://127.0.0.1:${proxyPort}`,
      AWS_ACCESS_KEY_ID: "test:tester",
      AWS_SECRET_ACCESS_KEY: "testing",
      // A second user of the same account, for resources built with explicit credentials.
      STOWAGE_TEST_S3_EXPLICIT_KEY_ID: "test:explicit",
      STOWAGE_TEST_S3_EXPLICIT_SECRET: EXPLICIT_SECRET,
      AWS_REGION: "us-east-1",
    },
    stop,
  };
}
