/**
 * pkt-lines, git's wire framing: four hex digits of length (including themselves), then the payload.
 * "0000" is a flush, "0001" a delimiter between sections, "0002" a response end (protocol v2).
 */
import { GitProtocolError } from "./errors.js";

export type Packet = { kind: "data"; payload: Buffer } | { kind: "flush" } | { kind: "delim" } | { kind: "response-end" };

/** The largest pkt-line git sends: 65520 bytes including the 4-byte length. */
const MAX_PKT_LENGTH = 65520;

export function pktLine(text: string): Buffer {
  const payload = Buffer.from(text, "utf8");
  const length = payload.length + 4;
  if (length > MAX_PKT_LENGTH) throw new GitProtocolError(`pkt-line too long (${length} bytes)`);
  return Buffer.concat([Buffer.from(length.toString(16).padStart(4, "0"), "ascii"), payload]);
}

export const FLUSH_PKT = Buffer.from("0000", "ascii");
export const DELIM_PKT = Buffer.from("0001", "ascii");

/** A text payload without its trailing newline. */
export function packetText(payload: Buffer): string {
  const text = payload.toString("utf8");
  return text.endsWith("\n") ? text.slice(0, -1) : text;
}

/** Reads pkt-lines one at a time from a byte stream, keeping only one chunk buffered. */
export class PacketReader {
  readonly #source: AsyncIterator<Buffer | string>;
  #buffer: Buffer = Buffer.alloc(0);
  #ended = false;

  constructor(source: AsyncIterable<Buffer | string>) {
    this.#source = source[Symbol.asyncIterator]();
  }

  /** The next packet, or undefined at the end of the stream. An `ERR` packet is thrown. */
  async read(): Promise<Packet | undefined> {
    if (!(await this.#fill(4))) {
      if (this.#buffer.length === 0) return undefined;
      throw new GitProtocolError("the server's response ended inside a pkt-line length");
    }
    const header = this.#buffer.subarray(0, 4).toString("ascii");
    if (!/^[0-9a-f]{4}$/i.test(header)) throw new GitProtocolError(`malformed pkt-line length ${JSON.stringify(header)}`);
    const length = parseInt(header, 16);
    if (length < 4) {
      this.#buffer = this.#buffer.subarray(4);
      if (length === 0) return { kind: "flush" };
      if (length === 1) return { kind: "delim" };
      if (length === 2) return { kind: "response-end" };
      throw new GitProtocolError(`reserved pkt-line length ${header}`);
    }
    if (!(await this.#fill(length))) throw new GitProtocolError("the server's response ended inside a pkt-line");
    const payload = this.#buffer.subarray(4, length);
    this.#buffer = this.#buffer.subarray(length);
    if (payload.subarray(0, 4).toString("latin1") === "ERR ") throw new GitProtocolError(packetText(payload.subarray(4)));
    return { kind: "data", payload };
  }

  /** The next packet's text, or undefined at a flush or the end of the stream. */
  async readLine(): Promise<string | undefined> {
    const packet = await this.read();
    return packet?.kind === "data" ? packetText(packet.payload) : undefined;
  }

  /** Checks that the response has nothing after what was read, so its connection can be reused. */
  async expectEnd(): Promise<void> {
    const packet = await this.read();
    if (packet) throw new GitProtocolError(`unexpected ${packet.kind} packet after the end of the response`);
  }

  /** Stops reading, releasing the underlying stream. */
  async close(): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    await this.#source.return?.();
  }

  async #fill(length: number): Promise<boolean> {
    while (this.#buffer.length < length) {
      if (this.#ended) return false;
      const next = await this.#source.next();
      if (next.done) {
        this.#ended = true;
        return false;
      }
      const chunk = typeof next.value === "string" ? Buffer.from(next.value) : next.value;
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    }
    return true;
  }
}
