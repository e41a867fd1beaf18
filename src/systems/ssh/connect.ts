/**
 * One SSH connection per system, with SFTP channels on it that carry many requests at once.
 * A connection that drops is replaced on the next operation; the operation that saw it drop fails
 * with a retryable `Unavailable`.
 */
import { createHash } from "node:crypto";
import { createConnection } from "node:net";
import { Client, type CipherAlgorithm, type NegotiatedAlgorithms, type ServerHostKeyAlgorithm } from "ssh2";
import { planAuth } from "./auth.js";
import { AuthError, ClosedError, HostKeyError } from "./errors.js";
import { coalesceWrites } from "./coalesce-writes.js";
import { appendKnownHost, keyTypeOf, KnownHosts, knownHostsName } from "./known-hosts.js";
import { hostTools, type HostTools } from "./host-tools.js";
import type { SshSettings } from "./settings.js";
import type { SftpClient } from "./sftp-io.js";
import { openSftp, SftpPool } from "./sftp-pool.js";
import { openProxy } from "./proxy.js";

/** AES-GCM runs about twice as fast as ChaCha20-Poly1305 on CPUs with AES instructions. */
const PREFERRED_CIPHERS: CipherAlgorithm[] = ["aes128-gcm@openssh.com", "aes256-gcm@openssh.com"];

/** Host key algorithms ssh2 can verify for each key type found in known_hosts. */
const HOST_KEY_ALGORITHMS: Record<string, ServerHostKeyAlgorithm[]> = {
  "ssh-ed25519": ["ssh-ed25519"],
  "ecdsa-sha2-nistp256": ["ecdsa-sha2-nistp256"],
  "ecdsa-sha2-nistp384": ["ecdsa-sha2-nistp384"],
  "ecdsa-sha2-nistp521": ["ecdsa-sha2-nistp521"],
  "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
};

export interface Session {
  client: Client;
  sftp: SftpClient;
  /** Channels for file operations (the first is `sftp`). */
  pool: SftpPool;
  /** The login directory, from SFTP realpath("."). */
  home: string;
  /** What the handshake agreed on (cipher, key exchange…). */
  negotiated: NegotiatedAlgorithms;
  /** What the host offers for exec-channel transfers, asked while the first SFTP channel opens. */
  tools: Promise<HostTools>;
}

export class SshConnection {
  #session: Promise<Session> | undefined;
  #closed = false;

  constructor(readonly settings: SshSettings) {}

  /** The live session, connecting (again) if there is none. */
  session(): Promise<Session> {
    if (this.#closed) return Promise.reject(new ClosedError("the ssh system was closed"));
    if (!this.#session) {
      const session = connect(this.settings, () => {
        if (this.#session === session) this.#session = undefined;
      });
      this.#session = session;
      session.catch(() => {
        if (this.#session === session) this.#session = undefined;
      });
    }
    return this.#session;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const session = this.#session;
    this.#session = undefined;
    if (!session) return;
    const { client } = await session.catch(() => ({ client: undefined }));
    if (!client) return;
    await new Promise<void>((resolve) => {
      client.once("close", () => resolve());
      client.end();
    });
  }
}

async function connect(settings: SshSettings, onDrop: () => void): Promise<Session> {
  const { client, negotiated } = await connectClient(settings);
  client.once("close", onDrop);
  try {
    const tools = hostTools(client);
    const sftp = await openSftp(client);
    sftp.sftp.once("close", onDrop);
    const home = await sftp.realpath(".");
    return { client, sftp, pool: new SftpPool(client, sftp), home, negotiated, tools };
  } catch (error) {
    client.end();
    throw error;
  }
}

/**
 * An authenticated connection to `settings`' host, whose host key known_hosts vouches for (or the
 * policy accepts), carried through its ProxyJump hops or ProxyCommand when it has one. Its end
 * ends what carried it.
 */
async function connectClient(settings: SshSettings): Promise<{ client: Client; negotiated: NegotiatedAlgorithms }> {
  const knownHosts = new KnownHosts(settings.knownHostsFiles);
  const hostName = knownHostsName(settings.hostName, settings.port);
  const auth = planAuth(settings);
  if (auth.methods.length === 0) {
    const detail = auth.skipped.length > 0 ? `; skipped: ${auth.skipped.join("; ")}` : "";
    throw new AuthError(
      `no ssh credentials for ${settings.user}@${settings.hostName}: no ssh-agent (SSH_AUTH_SOCK) and none of ${settings.identityFiles.join(", ")} is usable${detail}`,
    );
  }
  const proxy = settings.proxy ? await openProxy(settings.proxy, settings, async (hop) => (await connectClient(hop)).client) : undefined;

  let hostKeyProblem: string | undefined;
  const verifyHostKey = (key: Buffer): boolean => {
    const verdict = knownHosts.check(hostName, key);
    const fingerprint = `${keyTypeOf(key)} SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
    if (verdict === "known") return true;
    if (verdict === "revoked") {
      hostKeyProblem = `the host key of ${hostName} (${fingerprint}) is marked @revoked in known_hosts`;
      return false;
    }
    if (verdict === "changed" && settings.hostKeyPolicy !== "off") {
      hostKeyProblem =
        `the host key of ${hostName} has CHANGED (now ${fingerprint}); it differs from the one in ${knownHosts.files.join(" or ")}. ` +
        `Someone may be intercepting the connection, or the host was reinstalled. If you know the new key is right, ` +
        `remove the old one with \`ssh-keygen -R '${hostName}'\` and connect again.`;
      return false;
    }
    if (verdict === "unknown" && settings.hostKeyPolicy === "strict") {
      hostKeyProblem =
        `the host key of ${hostName} (${fingerprint}) is not in known_hosts (${knownHosts.files.join(", ")}). ` +
        `Check the fingerprint, then either connect once with \`ssh -p ${settings.port} ${settings.user}@${settings.hostName}\` to record it, ` +
        `or opt in to trusting new hosts with STOWAGE_SSH_ACCEPT_NEW_HOST_KEYS=1 (config ssh.acceptNewHostKeys, or StrictHostKeyChecking accept-new in ~/.ssh/config).`;
      return false;
    }
    if (verdict === "unknown" && settings.knownHostsWriteFile) {
      try {
        appendKnownHost(settings.knownHostsWriteFile, hostName, key);
      } catch {
        // As ssh does, a known_hosts file that cannot be written costs the memory, not the connection.
      }
    }
    return true;
  };

  // Ask for host key types known_hosts already holds, as OpenSSH does, so a server with several
  // host keys presents one that can be checked.
  const knownAlgorithms = knownHosts.keyTypesFor(hostName).flatMap((type) => HOST_KEY_ALGORITHMS[type] ?? []);

  const client = new Client();
  // The socket is this module's own (not ssh2's) so that its writes can be coalesced.
  const sock = proxy ? proxy.sock : createConnection({ host: settings.hostName, port: settings.port });
  coalesceWrites(sock);
  return new Promise((resolve, reject) => {
    let negotiated: NegotiatedAlgorithms | undefined;
    let settled = false;
    let ready = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      client.end();
      let failure: Error = error;
      if (hostKeyProblem) failure = new HostKeyError(hostKeyProblem, { cause: error });
      else if ((error as { level?: string }).level === "client-authentication") {
        const skipped = auth.skipped.length > 0 ? `; skipped ${auth.skipped.join("; ")}` : "";
        failure = new AuthError(
          `${settings.user}@${settings.hostName}:${settings.port} refused every credential offered (${auth.sources.join(", ")})${skipped}`,
          { cause: error },
        );
      }
      if (!proxy) return reject(failure);
      // Wait for a command's last words (stderr) before ending it.
      void proxy.explain(failure).then((explained) => {
        proxy.close();
        reject(explained);
      });
    };
    client.on("handshake", (algorithms) => (negotiated = algorithms));
    client.on("error", fail);
    client.once("close", () => {
      fail(new Error("connection closed before it was ready: No response from server"));
      if (ready) proxy?.close();
    });
    client.once("ready", () => {
      settled = true;
      ready = true;
      resolve({ client, negotiated: negotiated! });
    });
    client.connect({
      sock,
      username: settings.user,
      authHandler: auth.methods,
      hostVerifier: verifyHostKey,
      algorithms: {
        cipher: { remove: PREFERRED_CIPHERS, prepend: PREFERRED_CIPHERS, append: [] },
        ...(knownAlgorithms.length > 0 ? { serverHostKey: { remove: knownAlgorithms, prepend: knownAlgorithms, append: [] } } : {}),
      },
      readyTimeout: 20_000,
      keepaliveInterval: 15_000,
      keepaliveCountMax: 4,
    });
    // Nagle's algorithm holds back the small SFTP read requests and window adjustments behind
    // delayed ACKs: measured here, reads ran 4-7x faster without it. (A no-op over a proxy: the
    // jump connection's own TCP socket has it set, a command's pipes have no such delay.)
    client.setNoDelay(true);
  });
}
