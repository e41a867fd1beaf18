/**
 * Debian's OpenSSH sshd on a free 127.0.0.1 port, with a fresh host key, client key and config in a
 * temp dir. It writes beside them a known_hosts holding the host key and an ssh config with the
 * alias `stowage-test`, so clients (Stowage and the OpenSSH CLI alike) connect as a user would.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { userInfo } from "node:os";
import { join } from "node:path";
import { freePort, startProcess, stopProcess, tempDir, waitForPort, type RunningServer } from "../support/process.js";

const SSHD = "/usr/sbin/sshd";
const SFTP_SERVER = "/usr/lib/openssh/sftp-server";
export const SSH_TEST_ALIAS = "stowage-test";

export interface SshdOptions {
  /** The alias of the ssh config written beside it. Default `stowage-test`. */
  alias?: string;
  /** More sshd_config lines, e.g. `SetEnv PATH=…` for a host whose logins lack a program. */
  extraConfig?: readonly string[];
  /** A command sshd runs under, e.g. `["setarch", "linux32"]` for a host that says it is another architecture. */
  launcher?: readonly string[];
}

export async function startSshd(options: SshdOptions = {}): Promise<RunningServer> {
  const alias = options.alias ?? SSH_TEST_ALIAS;
  for (const [path, what] of [
    [SSHD, "sshd"],
    [SFTP_SERVER, "sftp-server"],
    ["/usr/bin/ssh-keygen", "ssh-keygen"],
  ] as const) {
    if (!existsSync(path))
      throw new Error(`${what} not found at ${path}: run \`npm run setup:test\` (apt-get install openssh-server openssh-sftp-server openssh-client)`);
  }
  const started = Date.now();
  const dir = tempDir("sshd");
  const port = await freePort();
  const user = userInfo().username;
  const keygen = (file: string, comment: string) =>
    execFileSync("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file], { stdio: "ignore" });
  keygen(join(dir, "host_ed25519"), "stowage-test-host");
  keygen(join(dir, "client_ed25519"), "stowage-test-client");
  writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "client_ed25519.pub")), { mode: 0o600 });
  const hostKey = readFileSync(join(dir, "host_ed25519.pub"), "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
  writeFileSync(join(dir, "known_hosts"), `[127.0.0.1]:${port} ${hostKey}\n`);
  // sshd running as root needs its privilege-separation directory.
  if (process.getuid?.() === 0) mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });

  const sshdConfig = join(dir, "sshd_config");
  writeFileSync(
    sshdConfig,
    [
      "ListenAddress 127.0.0.1",
      `Port ${port}`,
      `HostKey ${join(dir, "host_ed25519")}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin prohibit-password",
      `AllowUsers ${user}`,
      "StrictModes no",
      "UsePAM no",
      "PrintMotd no",
      `Subsystem sftp ${SFTP_SERVER}`,
      "LogLevel INFO",
      "MaxStartups 64:30:128",
      "MaxSessions 64",
      ...(options.extraConfig ?? []),
      "",
    ].join("\n"),
  );
  const clientConfig = join(dir, "ssh_config");
  writeFileSync(
    clientConfig,
    [
      `Host ${alias}`,
      "  HostName 127.0.0.1",
      `  Port ${port}`,
      `  User ${user}`,
      `  IdentityFile ${join(dir, "client_ed25519")}`,
      "  IdentitiesOnly yes",
      `  UserKnownHostsFile ${join(dir, "known_hosts")}`,
      "  BatchMode yes",
      "",
    ].join("\n"),
  );
  const root = join(dir, "root");
  mkdirSync(root);

  const logFile = join(dir, "sshd.log");
  // sshd re-executes itself, so it needs its absolute path; -D stays in the foreground, -e logs to stderr.
  const [command = SSHD, ...prefix] = [...(options.launcher ?? []), SSHD];
  const child = startProcess(command, [...prefix, "-D", "-e", "-f", sshdConfig], logFile);
  await waitForPort(port, child, "sshd", logFile, 30_000);
  process.stdout.write(`[servers] sshd on 127.0.0.1:${port} in ${Date.now() - started} ms (keys generated)\n`);

  return {
    name: "sshd",
    env: {
      STOWAGE_SSH_CONFIG: clientConfig,
      STOWAGE_TEST_SSH_HOST: alias,
      STOWAGE_TEST_SSH_DIR: root,
      STOWAGE_TEST_SSH_PORT: String(port),
      STOWAGE_TEST_SSH_USER: user,
      STOWAGE_TEST_SSH_KEY: join(dir, "client_ed25519"),
      STOWAGE_TEST_SSH_KNOWN_HOSTS: join(dir, "known_hosts"),
      STOWAGE_TEST_SSH_AUTHORIZED_KEYS: join(dir, "authorized_keys"),
    },
    async stop() {
      // Each connection is served by a forked sshd that outlives the listener; end those too.
      const sessions = childPids(child.pid);
      await stopProcess(child);
      for (const pid of sessions) {
        try {
          process.kill(pid, "SIGTERM");
        } catch {
          // already gone
        }
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Direct children of `pid`, from /proc (field 4 of /proc/<pid>/stat is the parent pid). */
function childPids(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  const children: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) === pid) children.push(Number(name));
    } catch {
      // the process ended while we looked
    }
  }
  return children;
}
