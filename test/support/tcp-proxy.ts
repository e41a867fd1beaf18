/**
 * A TCP proxy on 127.0.0.1 in front of a test server: counts the bytes that cross it and can cut
 * connections or stall them, to test retries, timeouts, resume and where a transfer's bytes flow,
 * or damage one byte coming down (as a faulty NIC or middlebox might), for content checks to find.
 */
import { createServer, connect, type Socket } from "node:net";

export interface TcpProxy {
  port: number;
  /** Bytes from clients to the server and back, since start or the last reset. */
  readonly bytesUp: number;
  readonly bytesDown: number;
  resetCounters(): void;
  /**
   * Destroys every open connection once `bytes` more bytes have gone up (or, with `down`, come
   * down) through the proxy; with `thenRefuse`, also refuses new connections from then on (the
   * server stays down).
   */
  cutAfter(bytes: number, options?: { thenRefuse?: boolean; down?: boolean }): void;
  /** How many times connections were cut. */
  readonly cuts: number;
  /** Flips the low bit of the byte that comes down `bytes` bytes from now (all connections together); once. */
  flipDownAfter(bytes: number): void;
  /** How many bytes were flipped. */
  readonly flips: number;
  /** While true, new connections are closed at once (the server looks down). */
  refuse: boolean;
  /**
   * While true, every byte either way is swallowed, as by a network that stops delivering while
   * connections stay open. Setting it back to false drops the connections that lived through it.
   */
  stall: boolean;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let bytesUp = 0;
  let bytesDown = 0;
  let cutAt: number | undefined;
  let cutDown = false;
  let refuseAfterCut = false;
  let cuts = 0;
  let stalled = false;
  let flipAt: number | undefined;
  let flips = 0;
  /** The chunk that came down ending at `end`, with the byte at the flip mark damaged when the mark falls in it. */
  const damage = (chunk: Buffer, end: number): Buffer => {
    const start = end - chunk.length;
    if (flipAt === undefined || flipAt < start || flipAt >= end) return chunk;
    const damaged = Buffer.from(chunk);
    damaged[flipAt - start]! ^= 0x01;
    flipAt = undefined;
    flips++;
    return damaged;
  };
  const cutAll = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  const proxy: TcpProxy = {
    port: 0,
    get bytesUp() {
      return bytesUp;
    },
    get bytesDown() {
      return bytesDown;
    },
    resetCounters() {
      bytesUp = 0;
      bytesDown = 0;
    },
    cutAfter(bytes, options = {}) {
      cutDown = options.down ?? false;
      cutAt = (cutDown ? bytesDown : bytesUp) + bytes;
      refuseAfterCut = options.thenRefuse ?? false;
    },
    get cuts() {
      return cuts;
    },
    flipDownAfter(bytes) {
      flipAt = bytesDown + bytes;
    },
    get flips() {
      return flips;
    },
    refuse: false,
    get stall() {
      return stalled;
    },
    set stall(value: boolean) {
      if (stalled && !value) cutAll();
      stalled = value;
    },
    close: () =>
      new Promise((resolve) => {
        cutAll();
        server.close(() => resolve());
      }),
  };
  /** Cuts every connection if the byte count in the watched direction passed the mark. */
  const cutIfDue = (counted: number): boolean => {
    if (cutAt === undefined || counted < cutAt) return false;
    cutAt = undefined;
    cuts++;
    if (refuseAfterCut) proxy.refuse = true;
    cutAll();
    return true;
  };
  const server = createServer((client) => {
    if (proxy.refuse) return void client.destroy();
    const upstream = connect({ host: "127.0.0.1", port: targetPort });
    sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("data", (chunk: Buffer) => {
      if (stalled) return;
      bytesUp += chunk.length;
      if (!cutDown && cutIfDue(bytesUp)) return;
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on("drain", () => client.resume());
    upstream.on("data", (chunk: Buffer) => {
      if (stalled) return;
      bytesDown += chunk.length;
      if (cutDown && cutIfDue(bytesDown)) return;
      if (!client.write(damage(chunk, bytesDown))) upstream.pause();
    });
    client.on("drain", () => upstream.resume());
    client.on("end", () => upstream.end());
    upstream.on("end", () => client.end());
    client.on("error", drop);
    upstream.on("error", drop);
    client.on("close", drop);
    upstream.on("close", drop);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  proxy.port = typeof address === "object" && address ? address.port : 0;
  return proxy;
}
