/**
 * Keepalive pings as ssh2's own (`keepalive@openssh.com` every interval, the connection dropped
 * after `countMax` unanswered), on an unref'd timer: ssh2's interval is ref'd and would keep a
 * script that has finished alive as long as the connection is pooled. While an operation runs the
 * connection's socket is ref'd (./idle.ts), so the pings go on as long as the process does.
 */
import type { Duplex } from "node:stream";
import type { Client } from "ssh2";

/** The parts of ssh2's Client the ping needs (as ssh2's own keepalive does it). */
interface ClientInternals {
  _protocol?: { ping(): void };
  /** Callbacks for global request replies, answered in order: a ping's reply takes its turn. */
  _callbacks?: Array<(failed: unknown) => void>;
}

export function keepAlive(client: Client, sock: Duplex, intervalMs: number, countMax: number): void {
  const internals = client as unknown as ClientInternals;
  let unanswered = 0;
  const timer = setInterval(() => {
    if (!sock.writable || !internals._protocol || !internals._callbacks) return clearInterval(timer);
    if (++unanswered > countMax) {
      clearInterval(timer);
      client.emit("error", Object.assign(new Error("Keepalive timeout"), { level: "client-timeout" }));
      sock.destroy();
      return;
    }
    internals._callbacks.push(() => (unanswered = 0));
    internals._protocol.ping();
  }, intervalMs).unref();
  client.once("close", () => clearInterval(timer));
}
