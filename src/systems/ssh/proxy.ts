/**
 * The socket an SSH connection runs over when it is not a direct TCP connection: a direct-tcpip
 * channel through a connection to a jump host (ProxyJump), or a command's stdin and stdout
 * (ProxyCommand, run as OpenSSH does with `sh -c "exec …"`).
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { Duplex } from "node:stream";
import type { Client, ClientChannel } from "ssh2";
import { handleOf, loopHandles, type LoopHandle } from "./idle.js";
import type { ProxyRoute, SshSettings } from "./settings.js";

export interface ProxySocket {
  sock: Duplex;
  /** Ends what carries the socket (the jump connection, or the command); call it once the SSH connection closed. */
  close(): void;
  /** Adds what the proxy knows to an error of the connection over it (a command's stderr). */
  explain(error: Error): Promise<Error>;
  /** What keeps the event loop alive for the socket (the jump connection's, the command and its pipes). */
  handle: LoopHandle;
}

/**
 * Opens a verified, authenticated connection to a jump host, with what keeps the event loop alive
 * for it (connect.ts, passed in to avoid an import cycle).
 */
export type HopConnector = (hop: SshSettings) => Promise<{ client: Client; handle: LoopHandle }>;

export function openProxy(route: ProxyRoute, target: SshSettings, connectHop: HopConnector): Promise<ProxySocket> {
  return route.kind === "jump" ? jumpThrough(route.via, target, connectHop) : Promise.resolve(runProxyCommand(route.command));
}

async function jumpThrough(hop: SshSettings, target: SshSettings, connectHop: HopConnector): Promise<ProxySocket> {
  const { client, handle } = await connectHop(hop).catch((error: unknown) => {
    throw nameHop(error, hop);
  });
  let channel: ClientChannel;
  try {
    // Like `ssh -W`: the jump host connects to the target's resolved name and port.
    channel = await new Promise<ClientChannel>((resolve, reject) =>
      client.forwardOut("127.0.0.1", 0, target.hostName, target.port, (error, stream) => (error ? reject(error) : resolve(stream))),
    );
  } catch (error) {
    client.end();
    throw nameHop(error, hop, `cannot reach ${target.hostName}:${target.port} from there`);
  }
  return { sock: channel, close: () => client.end(), explain: (error) => Promise.resolve(error), handle };
}

/** Errors already named after the hop that failed, so outer hops do not name themselves too. */
const named = new WeakSet<Error>();

/**
 * Says which hop failed in the message. The error itself stays (its class, ssh2 level and code
 * decide its Stowage code), so a refused jump host gives the same code as a refused target.
 */
function nameHop(error: unknown, hop: SshSettings, what?: string): unknown {
  if (!(error instanceof Error) || named.has(error)) return error;
  named.add(error);
  error.message = `jump host ${hop.alias} (${hop.user}@${hop.hostName}:${hop.port})${what ? ` ${what}` : ""}: ${error.message}`;
  return error;
}

/** Bytes of the command's stderr kept for error messages. */
const STDERR_LIMIT = 4096;
/** How long an error waits for the command to exit and say why. */
const STDERR_WAIT_MS = 1000;

function runProxyCommand(command: string): ProxySocket {
  const child = spawn("sh", ["-c", `exec ${command}`], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (text: string) => {
    if (stderr.length < STDERR_LIMIT) stderr += text.slice(0, STDERR_LIMIT - stderr.length);
  });
  const ended = new Promise<void>((resolve) => {
    child.once("close", () => resolve());
    child.once("error", () => resolve());
  });
  return {
    sock: new CommandSocket(child),
    close: () => kill(child),
    handle: loopHandles(child, handleOf(child.stdin), handleOf(child.stdout), handleOf(child.stderr)),
    explain: async (error) => {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([ended, new Promise<void>((resolve) => (timer = setTimeout(resolve, STDERR_WAIT_MS)))]);
      clearTimeout(timer);
      const said = stderr.trim().replace(/\s*\n\s*/g, "; ");
      error.message = `${error.message} (ProxyCommand \`${command}\`${said ? ` said: ${said}` : ""})`;
      return error;
    },
  };
}

function kill(child: ChildProcessWithoutNullStreams): void {
  if (child.exitCode === null && child.signalCode === null) child.kill();
}

/** A command's stdout and stdin as one socket, closed when the command exits. */
class CommandSocket extends Duplex {
  constructor(readonly child: ChildProcessWithoutNullStreams) {
    super();
    child.stdout.on("data", (chunk: Buffer) => {
      if (!this.push(chunk)) child.stdout.pause();
    });
    child.stdout.once("end", () => this.push(null));
    // A write to a command that ended fails with EPIPE; its exit closes the socket just after.
    child.stdin.on("error", () => {});
    child.once("error", (error) => this.destroy(error));
    child.once("close", () => this.destroy());
  }

  override _read(): void {
    this.child.stdout.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.child.stdin.write(chunk, () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.child.stdin.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    kill(this.child);
    callback(error);
  }
}
