/**
 * One SSH connection per system, with SFTP channels on it that carry many requests at once.
 * A connection that drops is replaced on the next operation; the operation that saw it drop fails
 * with a retryable `Unavailable`. It holds the event loop only while an operation is in flight,
 * and closes after a minute without one (./idle.ts), so a finished script exits by itself.
 */
import { createHash } from "node:crypto";
import { createConnection } from "node:net";
import { Client, type CipherAlgorithm, type NegotiatedAlgorithms, type ServerHostKeyAlgorithm } from "ssh2";
import { planAuth } from "./auth.js";
import { AuthError, ClosedError, HostKeyError } from "./errors.js";
import { coalesceWrites } from "./coalesce-writes.js";
import { appendKnownHost, keyTypeOf, KnownHosts, knownHostsName } from "./known-hosts.js";
import { hostTools, type HostTools } from "./host-tools.js";
import { handleOf, InFlight, type LoopHandle } from "./idle.js";
import { keepAlive } from "./keepalive.js";
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

/** A ping every 15 s; four unanswered drop the connection. */
const KEEPALIVE_INTERVAL_MS = 15_000;
const KEEPALIVE_COUNT_MAX = 4;

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
  /** What keeps the event loop alive for this connection: its socket, or what carries it. */
  handle: LoopHandle;
}

/** An idle connection is closed after this long: a long-lived process keeps no dead sessions. */
export const IDLE_CLOSE_MS = 60_000;

export interface ConnectionOptions {
  /** How long a connection with no operation in flight stays open. */
  idleCloseMs?: number;
}

export class SshConnection {
  #session: Promise<Session> | undefined;
  /** The connected session's handle, once it is connected. */
  #handle: LoopHandle | undefined;
  #closed = false;
  #idleTimer: NodeJS.Timeout | undefined;
  readonly #idleCloseMs: number;
  /**
   * Operations in flight (./idle.ts). Every operation of the system counts here, from before it
   * asks for the session until it settles, or for a stream until the stream is done.
   */
  readonly inFlight = new InFlight({ busy: () => this.#busy(), idle: () => this.#idle() });

  constructor(
    readonly settings: SshSettings,
    options: ConnectionOptions = {},
  ) {
    this.#idleCloseMs = options.idleCloseMs ?? IDLE_CLOSE_MS;
  }

  /** Whether a session is open or opening. */
  get connected(): boolean {
    return this.#session !== undefined;
  }

  /** The live session, connecting (again) if there is none. */
  session(): Promise<Session> {
    if (this.#closed) return Promise.reject(new ClosedError("the ssh system was closed"));
    if (!this.#session) {
      const session = connect(this.settings, () => this.#forget(session));
      this.#session = session;
      session.then(
        ({ handle }) => {
          if (this.#session !== session) return;
          this.#handle = handle;
          // Connected with nothing in flight (the system was only being opened): rest at once.
          if (this.inFlight.count === 0) this.#idle();
        },
        () => this.#forget(session),
      );
    }
    return this.#session;
  }

  #forget(session: Promise<Session>): void {
    if (this.#session !== session) return;
    this.#session = undefined;
    this.#handle = undefined;
    clearTimeout(this.#idleTimer);
  }

  #busy(): void {
    clearTimeout(this.#idleTimer);
    this.#handle?.ref();
  }

  /** Nothing in flight: let the process exit, and close the connection if it stays so. */
  #idle(): void {
    if (!this.#handle) return;
    this.#handle.unref();
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => this.#closeIdle(), this.#idleCloseMs).unref();
  }

  #closeIdle(): void {
    const session = this.#session;
    if (!session || this.inFlight.count > 0) return;
    this.#forget(session);
    void session.then(({ client }) => client.end());
  }

  async close(): Promise<void> {
    this.#closed = true;
    const session = this.#session;
    if (!session) return;
    // Held until the host saw the end: code after `await close()` runs even if nothing else is left.
    this.#handle?.ref();
    this.#forget(session);
    const { client } = await session.catch(() => ({ client: undefined }));
    if (!client) return;
    await new Promise<void>((resolve) => {
      client.once("close", () => resolve());
      client.end();
    });
  }
}

async function connect(settings: SshSettings, onDrop: () => void): Promise<Session> {
  const { client, negotiated, handle } = await connectClient(settings);
  client.once("close", onDrop);
  try {
    const tools = hostTools(client);
    const sftp = await openSftp(client);
    sftp.sftp.once("close", onDrop);
    const home = await sftp.realpath(".");
    return { client, sftp, pool: new SftpPool(client, sftp), home, negotiated, tools, handle };
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
async function connectClient(settings: SshSettings): Promise<{ client: Client; negotiated: NegotiatedAlgorithms; handle: LoopHandle }> {
  const knownHosts = new KnownHosts(settings.knownHostsFiles);
  const hostName = knownHostsName(settings.hostName, settings.port);
  const auth = planAuth(settings);
  if (auth.methods.length === 0) {
    const detail = auth.skipped.length > 0 ? `; skipped: ${auth.skipped.join("; ")}` : "";
    throw new AuthError(
      `no ssh credentials for ${settings.user}@${settings.hostName}: no ssh-agent (SSH_AUTH_SOCK) and none of ${settings.identityFiles.join(", ")} is usable${detail}`,
    );
  }
  const proxy = settings.proxy ? await openProxy(settings.proxy, settings, connectClient) : undefined;

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
  const handle = proxy?.handle ?? handleOf(sock) ?? { ref() {}, unref() {} };
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
      keepAlive(client, sock, KEEPALIVE_INTERVAL_MS, KEEPALIVE_COUNT_MAX);
      resolve({ client, negotiated: negotiated!, handle });
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
      // ssh2's own keepalive timer would hold the event loop: ./keepalive.ts pings instead.
      keepaliveInterval: 0,
    });
    // Nagle's algorithm holds back the small SFTP read requests and window adjustments behind
    // delayed ACKs: measured here, reads ran 4-7x faster without it. (A no-op over a proxy: the
    // jump connection's own TCP socket has it set, a command's pipes have no such delay.)
    client.setNoDelay(true);
  });
}
