// @ts-check
/**
 * A TCP proxy that holds every chunk for `delay` ms in each direction (round trip 2 × delay), to
 * see how a copy behaves over a long link on a machine without `tc netem`. The proxy's own event
 * loop caps throughput too, so compare tools through the same proxy, not with loopback numbers.
 *
 *   node bench/transfer/delay-proxy.mjs <listen port> <sshd port> <delay ms>
 *
 * then point an ssh_config alias at 127.0.0.1:<listen port>. The multi-stream figures in
 * docs/architecture.md (20 ms round trip, 256 MiB, Stowage streams 1 vs 4 against scp) came
 * from this proxy in front of the test sshd.
 */
import net from "node:net";

const [listenPort, targetPort, delay] = process.argv.slice(2).map(Number);
if (!listenPort || !targetPort || delay === undefined || Number.isNaN(delay)) {
  process.stderr.write("usage: delay-proxy.mjs <listen port> <target port> <delay ms>\n");
  process.exit(2);
}

/** Forwards `from` to `to`, each chunk `delay` ms late, in order. */
function forwardDelayed(/** @type {net.Socket} */ from, /** @type {net.Socket} */ to) {
  from.on("data", (chunk) => setTimeout(() => to.write(chunk), delay));
  from.on("end", () => setTimeout(() => to.end(), delay));
  from.on("error", () => to.destroy());
}

net
  .createServer((client) => {
    const server = net.connect(targetPort, "127.0.0.1");
    forwardDelayed(client, server);
    forwardDelayed(server, client);
  })
  .listen(listenPort, "127.0.0.1", () => process.stdout.write(`delaying 127.0.0.1:${listenPort} → ${targetPort} by ${delay} ms each way\n`));
