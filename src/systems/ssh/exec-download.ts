/**
 * Streams a file from the host through `cat` on an exec channel, as scp does: plain channel data,
 * no SFTP read request and reply per 255 KiB. Measured on a 512 MiB read here: about 520 MiB/s for
 * half the CPU in this process, against about 430 MiB/s for pipelined SFTP reads.
 *
 * The login shell's rc files run before the command and may print to stdout, so the command prints
 * a marker line first and everything up to it is dropped. The stream ends after the size the
 * caller stat'ed, as an SFTP read of that size would.
 */
import { Readable } from "node:stream";
import type { Client, ClientChannel } from "ssh2";
import { StowageError } from "../../errors.js";
import { DD_BLOCK, ddBlocks, openExec, sendKill, shellQuote } from "./exec.js";

/** The line `cat` output starts after. */
export const CAT_MARKER = Buffer.from("stowage-cat-start-4f1d\n");
/** Shell output tolerated before the marker; more means the command is not running as expected. */
const MAX_PREAMBLE = 64 * 1024;

/**
 * Starts `cat` of `remote` on a new exec channel, or `dd` from `offset` (a multiple of DD_BLOCK) for
 * `length` bytes; rejects when the host refuses a channel (MaxSessions).
 */
export async function startCatDownload(client: Client, remote: string, range?: { offset: number; length: number }): Promise<ClientChannel> {
  const copy = range
    ? `exec dd if=${shellQuote(remote)} bs=${DD_BLOCK} skip=${ddBlocks(range.offset)} count=${Math.ceil(range.length / DD_BLOCK)}`
    : `exec cat -- ${shellQuote(remote)}`;
  return openExec(client, `printf '%s\\n' ${shellQuote(CAT_MARKER.toString("latin1").trim())} && ${copy}`);
}

/**
 * The first `size` bytes `cat` sends on `channel`, as a Readable with backpressure (a paused
 * channel stops granting the host window). It fails when `cat` exits with an error, the connection
 * goes, or fewer bytes arrive than `size`; destroying it kills `cat` and closes the channel.
 */
export function catReader(channel: ClientChannel, size: number, path: string): Readable {
  const failure = (code: "Unavailable" | "Conflict" | "Unexpected", message: string) =>
    new StowageError({ code, retryable: code !== "Unexpected", system: "ssh", operation: "read", path, message });
  let preamble: Buffer | undefined = Buffer.alloc(0);
  let received = 0;
  let exitCode: number | undefined;
  const stderr: Buffer[] = [];
  let done = false;

  const stream = new Readable({
    highWaterMark: 4 << 20,
    read() {
      channel.resume();
    },
    destroy(error, callback) {
      if (!done) {
        done = true;
        sendKill(channel);
        channel.close();
      }
      callback(error);
    },
  });
  const finish = () => {
    if (done) return;
    done = true;
    stream.push(null);
    channel.close();
  };

  channel.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
  channel.on("exit", (code: number | null) => (exitCode = code ?? undefined));
  channel.on("data", (chunk: Buffer) => {
    if (done) return;
    let data = chunk;
    if (preamble !== undefined) {
      preamble = Buffer.concat([preamble, chunk]);
      const at = preamble.indexOf(CAT_MARKER);
      if (at < 0) {
        if (preamble.length > MAX_PREAMBLE) stream.destroy(failure("Unexpected", "the host's shell printed too much before cat started"));
        return;
      }
      data = preamble.subarray(at + CAT_MARKER.length);
      preamble = undefined;
    }
    const wanted = Math.min(data.length, size - received);
    received += wanted;
    if (wanted > 0 && !stream.push(wanted === data.length ? data : data.subarray(0, wanted))) channel.pause();
    if (received === size) finish();
  });
  channel.on("close", () => {
    if (done) return;
    const why = Buffer.concat(stderr).toString("utf8").trim();
    if (exitCode === undefined) stream.destroy(failure("Unavailable", "the connection closed before cat finished"));
    else if (exitCode !== 0) stream.destroy(failure("Unexpected", `cat on the host exited with ${exitCode}${why ? `: ${why}` : ""}`));
    else if (received < size) stream.destroy(failure("Conflict", `the file shrank while read: ${received} of ${size} bytes`));
    else finish();
  });
  return stream;
}
