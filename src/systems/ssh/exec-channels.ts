/**
 * The exec-channel transport: large files through `cat` both ways and ranges through `dd`, each on
 * its own exec channel (so each has its own 2 MiB window). A connection runs at most
 * CHANNELS_PER_CONNECTION of them, which with the SFTP channels stays within OpenSSH's MaxSessions
 * (10). Every function answers undefined, with nothing read from its body, when the host lacks
 * the tool, the budget is spent, or the host refuses another channel: the caller uses SFTP then.
 */
import type { Readable } from "node:stream";
import { StowageError } from "../../errors.js";
import type { ByteSpan, RangeChecksum } from "../contract.js";
import type { Session } from "./connect.js";
import { checksumsOnHost } from "./digest.js";
import { catInto, startCat, startChecksummedRangeWrite, startRangeWrite } from "./exec-upload.js";
import { catReader, startCatDownload } from "./exec-download.js";
import type { SftpClient } from "./sftp-io.js";

/** Uploads and downloads through `cat` or `dd` at once per connection. */
const CHANNELS_PER_CONNECTION = 4;
/** Streams at least this large (or of unknown size) go up through `cat`. */
export const CAT_UPLOAD_MIN_BYTES = 8 << 20;
/** Reads at least this large come down through `cat` (whole files) or `dd` (ranges from a whole MiB). */
export const CAT_DOWNLOAD_MIN_BYTES = 8 << 20;

export class ExecChannels {
  #open = 0;
  /** Digests waiting for a channel of the budget. */
  readonly #waiting: Array<() => void> = [];

  #release(): void {
    this.#open--;
    this.#waiting[0]?.();
  }

  /** A stream of the file (or of a range of it, through dd). */
  async download(session: Session, remote: string, range: { start: number; end: number }, whole: boolean, target: string): Promise<Readable | undefined> {
    if (this.#open >= CHANNELS_PER_CONNECTION) return undefined;
    const tools = await session.tools;
    if (!(whole ? tools.cat : tools.dd)) return undefined;
    this.#open++;
    const size = range.end - range.start;
    const channel = await startCatDownload(session.client, remote, whole ? undefined : { offset: range.start, length: size }).catch(() => undefined);
    if (!channel) {
      this.#release();
      return undefined;
    }
    channel.once("close", () => this.#release());
    return catReader(channel, size, target);
  }

  /** Streams `body` into the (empty, closed) part file through `cat` and checks what arrived. */
  async upload(session: Session, sftp: SftpClient, part: string, body: Readable, target: string, signal: AbortSignal | undefined): Promise<number | undefined> {
    if (this.#open >= CHANNELS_PER_CONNECTION || !(await session.tools).cat) return undefined;
    this.#open++;
    try {
      const channel = await startCat(session.client, part).catch(() => undefined);
      if (!channel) return undefined;
      const sent = await catInto(channel, body, signal);
      const landed = (await sftp.stat(part)).size;
      if (landed !== sent) {
        throw new StowageError({
          code: "Conflict",
          retryable: true,
          system: "ssh",
          operation: "write",
          path: target,
          message: `sent ${sent} bytes, ${landed} arrived`,
        });
      }
      return sent;
    } finally {
      this.#release();
    }
  }

  /**
   * Writes one range of a part file through `dd` at its offset; `onWritten` as for catInto's
   * `onLanded`. With `checksum` (the range's length; where the host has cksum), also the range's
   * cksum, computed on the host once dd has written it.
   */
  async writeRange(
    session: Session,
    part: string,
    offset: number,
    body: AsyncIterable<Uint8Array>,
    signal: AbortSignal | undefined,
    onWritten?: (bytes: number) => void,
    checksum?: { length: number },
  ): Promise<{ received: number; checksum?: string | undefined } | undefined> {
    const tools = await session.tools;
    if (this.#open >= CHANNELS_PER_CONNECTION || !tools.dd) return undefined;
    this.#open++;
    try {
      if (checksum && tools.cksum) {
        const started = await startChecksummedRangeWrite(session.client, part, { offset, length: checksum.length }).catch(() => undefined);
        if (!started) return undefined;
        const received = await catInto(started.channel, body, signal, onWritten);
        return { received, checksum: started.landed() };
      }
      const channel = await startRangeWrite(session.client, part, offset).catch(() => undefined);
      return channel ? { received: await catInto(channel, body, signal, onWritten) } : undefined;
    } finally {
      this.#release();
    }
  }

  /**
   * Checksums of ranges of a file, by md5sum or cksum on the host. Unlike a transfer, which takes
   * SFTP when the budget is spent, it waits for a channel: reading the file back would cost far
   * more. Undefined where the host cannot (see checksumsOnHost).
   */
  async digest(
    session: Session,
    file: string,
    ranges: readonly ByteSpan[],
    checksum: RangeChecksum,
    signal: AbortSignal | undefined,
  ): Promise<string[] | undefined> {
    const tools = await session.tools;
    if (!tools.cat || checksum === "crc32" || (checksum === "cksum" && !tools.cksum)) return undefined;
    while (this.#open >= CHANNELS_PER_CONNECTION) {
      signal?.throwIfAborted();
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal?.removeEventListener("abort", wake);
          const index = this.#waiting.indexOf(wake);
          if (index >= 0) this.#waiting.splice(index, 1);
          resolve();
        };
        this.#waiting.push(wake);
        signal?.addEventListener("abort", wake, { once: true });
      });
    }
    signal?.throwIfAborted();
    this.#open++;
    try {
      return await checksumsOnHost(session.client, file, ranges, checksum, signal);
    } finally {
      this.#release();
    }
  }
}
