/**
 * A git protocol v2 client for one repository over smart HTTP: the capability advertisement
 * (`GET info/refs?service=git-upload-pack`), then `ls-refs`, `fetch` and `object-info` commands
 * (`POST git-upload-pack`). Only what is asked for is fetched: trees without blobs, or one blob.
 */
import type { IncomingMessage } from "node:http";
import { GitProtocolError, GithubError } from "./errors.js";
import type { GitHttpClient } from "./http.js";
import { objectTypeName, PACK_HEADER_LENGTH, PACK_TRAILER_LENGTH, parseEntryHeader, parsePackHeader } from "./pack.js";
import { DELIM_PKT, FLUSH_PKT, PacketReader, packetText, pktLine } from "./pkt-line.js";

export interface ServerCapabilities {
  /** Features of the `fetch` command, e.g. "shallow", "filter". */
  fetch: ReadonlySet<string>;
  objectInfo: boolean;
}

export interface RemoteRef {
  name: string;
  id: string;
  /** For annotated tags: the object the tag points to (`peel`). */
  peeled?: string;
}

/** A blob being fetched: its size (from the pack entry header) and its zlib-compressed bytes. */
export interface BlobFetch {
  size: number;
  /** The compressed entry data, read from the response as it arrives. */
  compressed: AsyncIterable<Buffer>;
  /** Stops the download. */
  abort(): void;
}

const PROTOCOL_HEADER = { "git-protocol": "version=2" };
const AGENT = "agent=stowage/0.1";

export class UploadPackClient {
  readonly #http: GitHttpClient;
  readonly #url: string;
  #capabilities: Promise<ServerCapabilities> | undefined;

  /** `url`: the repository, e.g. "https://github.com/owner/repo.git". */
  constructor(http: GitHttpClient, url: string) {
    this.#http = http;
    this.#url = url;
  }

  /** The server's protocol v2 capabilities; fetched once (this also tells whether the repo exists). */
  capabilities(signal?: AbortSignal): Promise<ServerCapabilities> {
    if (!this.#capabilities) {
      this.#capabilities = this.#advertise(signal);
      this.#capabilities.catch(() => (this.#capabilities = undefined));
    }
    return this.#capabilities;
  }

  /** Refs whose names start with one of `prefixes`, with annotated tags peeled. */
  async lsRefs(prefixes: readonly string[], signal?: AbortSignal): Promise<RemoteRef[]> {
    await this.capabilities(signal);
    const args = ["peel", ...prefixes.map((prefix) => `ref-prefix ${prefix}`)];
    const reader = new PacketReader(await this.#command("ls-refs", args, signal));
    const refs: RemoteRef[] = [];
    try {
      for (let line = await reader.readLine(); line !== undefined; line = await reader.readLine()) {
        const [id, name, ...attributes] = line.split(" ");
        if (!id || !name || !/^[0-9a-f]{40}$/.test(id)) throw new GitProtocolError(`malformed ls-refs line ${JSON.stringify(line)}`);
        const peeled = attributes.find((a) => a.startsWith("peeled:"))?.slice("peeled:".length);
        refs.push(peeled ? { name, id, peeled } : { name, id });
      }
      await reader.expectEnd();
    } finally {
      await reader.close();
    }
    return refs;
  }

  /**
   * The commit and all its trees, no blobs and no history: `deepen 1` + `filter blob:none`.
   * Returns the raw packfile (trees are small next to blobs, so it is read whole).
   */
  async fetchTrees(commitId: string, signal?: AbortSignal): Promise<Buffer> {
    const capabilities = await this.capabilities(signal);
    if (!capabilities.fetch.has("filter") || !capabilities.fetch.has("shallow")) {
      const offered = [...capabilities.fetch].join(" ");
      throw new GithubError("Unsupported", `${this.#url} offers no partial, shallow fetch (fetch=${offered}); reading would need the whole snapshot`);
    }
    const args = ["no-progress", "ofs-delta", `want ${commitId}`, "deepen 1", "filter blob:none", "done"];
    const reader = new PacketReader(await this.#command("fetch", args, signal));
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of packfileData(reader)) chunks.push(Buffer.from(chunk));
      await reader.expectEnd();
    } finally {
      await reader.close();
    }
    return Buffer.concat(chunks);
  }

  /** Starts fetching one blob by id and resolves once its pack entry header has arrived. */
  async openBlob(blobId: string, signal?: AbortSignal): Promise<BlobFetch> {
    await this.capabilities(signal);
    const response = await this.#command("fetch", ["no-progress", `want ${blobId}`, "done"], signal);
    const reader = new PacketReader(response);
    try {
      const bytes = new ByteQueue(packfileData(reader));
      const { count } = parsePackHeader(await bytes.take(PACK_HEADER_LENGTH));
      if (count !== 1) throw new GitProtocolError(`asked for one blob, the pack holds ${count} objects`);
      const header = await bytes.entryHeader();
      const type = objectTypeName(header.typeCode);
      if (type !== "blob") throw new GitProtocolError(`object ${blobId} arrived as ${type ?? `pack type ${header.typeCode}`}, not a whole blob`);
      async function* compressed() {
        yield* bytes.rest(PACK_TRAILER_LENGTH);
        await reader.expectEnd();
      }
      return { size: header.size, compressed: compressed(), abort: () => response.destroy() };
    } catch (error) {
      response.destroy();
      throw error;
    }
  }

  /** Object sizes via the `object-info` command; callers check `capabilities().objectInfo` first. */
  async objectSizes(ids: readonly string[], signal?: AbortSignal): Promise<Map<string, number>> {
    const reader = new PacketReader(await this.#command("object-info", ["size", ...ids.map((id) => `oid ${id}`)], signal));
    const sizes = new Map<string, number>();
    try {
      const attributes = await reader.readLine();
      if (attributes !== "size") throw new GitProtocolError(`unexpected object-info attributes ${JSON.stringify(attributes)}`);
      for (let line = await reader.readLine(); line !== undefined; line = await reader.readLine()) {
        const [id, size] = line.split(" ");
        // A missing object is answered with an empty size.
        if (id && size) sizes.set(id, Number(size));
      }
      await reader.expectEnd();
    } finally {
      await reader.close();
    }
    return sizes;
  }

  async #advertise(signal?: AbortSignal): Promise<ServerCapabilities> {
    const response = await this.#http.send({
      method: "GET",
      url: `${this.#url}/info/refs?service=git-upload-pack`,
      headers: PROTOCOL_HEADER,
      signal,
    });
    const reader = new PacketReader(response);
    try {
      let line = await reader.readLine();
      // github.com keeps the v0 "# service=" preamble even in v2; git http-backend drops it.
      if (line?.startsWith("# service=")) line = (await reader.readLine()) ?? (await reader.readLine());
      if (line !== "version 2") {
        throw new GithubError("Unsupported", `${this.#url} does not speak git protocol v2`);
      }
      const fetch = new Set<string>();
      let objectInfo = false;
      let objectFormat = "sha1";
      for (line = await reader.readLine(); line !== undefined; line = await reader.readLine()) {
        const [key, value = ""] = line.split("=", 2);
        if (key === "fetch") for (const feature of value.split(" ")) fetch.add(feature);
        if (key === "object-info") objectInfo = true;
        if (key === "object-format") objectFormat = value;
      }
      if (objectFormat !== "sha1") {
        throw new GithubError("Unsupported", `${this.#url} uses ${objectFormat} object ids; only sha1 is supported`);
      }
      await reader.expectEnd();
      return { fetch, objectInfo };
    } finally {
      await reader.close();
    }
  }

  #command(command: string, args: readonly string[], signal?: AbortSignal): Promise<IncomingMessage> {
    const body = Buffer.concat([pktLine(`command=${command}\n`), pktLine(`${AGENT}\n`), DELIM_PKT, ...args.map((arg) => pktLine(`${arg}\n`)), FLUSH_PKT]);
    return this.#http.send({
      method: "POST",
      url: `${this.#url}/git-upload-pack`,
      headers: {
        ...PROTOCOL_HEADER,
        "content-type": "application/x-git-upload-pack-request",
        accept: "application/x-git-upload-pack-result",
      },
      body,
      signal,
    });
  }
}

/**
 * The pack bytes of a fetch response: skips sections before "packfile" (acknowledgments,
 * shallow-info, …), then demultiplexes side-band-64k: band 1 is data, 2 progress, 3 a fatal error.
 */
async function* packfileData(reader: PacketReader): AsyncGenerator<Buffer> {
  for (;;) {
    const section = await reader.readLine();
    if (section === undefined) throw new GitProtocolError("the fetch response holds no packfile");
    if (section === "packfile") break;
    for (let packet = await reader.read(); packet?.kind !== "delim"; packet = await reader.read()) {
      if (!packet || packet.kind !== "data") throw new GitProtocolError(`the fetch response ended in section ${section}`);
    }
  }
  for (;;) {
    const packet = await reader.read();
    if (packet?.kind === "flush") return;
    if (!packet || packet.kind !== "data") throw new GitProtocolError("the packfile section ended early");
    const band = packet.payload[0];
    if (band === 1) yield packet.payload.subarray(1);
    else if (band === 3) throw new GitProtocolError(packetText(packet.payload.subarray(1)));
    else if (band !== 2) throw new GitProtocolError(`unknown side-band ${band}`);
  }
}

/** Pulls exact byte counts from a chunk stream, then hands the rest on as it arrives. */
class ByteQueue {
  readonly #source: AsyncIterator<Buffer>;
  #pending: Buffer = Buffer.alloc(0);

  constructor(source: AsyncIterable<Buffer>) {
    this.#source = source[Symbol.asyncIterator]();
  }

  async take(length: number): Promise<Buffer> {
    while (this.#pending.length < length) {
      if (!(await this.#pull())) throw new GitProtocolError("the packfile ended early");
    }
    const taken = this.#pending.subarray(0, length);
    this.#pending = this.#pending.subarray(length);
    return taken;
  }

  async entryHeader(): Promise<{ typeCode: number; size: number }> {
    for (;;) {
      const header = parseEntryHeader(this.#pending, 0);
      if (header) {
        this.#pending = this.#pending.subarray(header.end);
        return header;
      }
      if (!(await this.#pull())) throw new GitProtocolError("the packfile ended inside an entry header");
    }
  }

  /** Everything left except the last `holdBack` bytes (the pack trailer), which must exist. */
  async *rest(holdBack: number): AsyncGenerator<Buffer> {
    try {
      for (;;) {
        if (this.#pending.length > holdBack) {
          yield this.#pending.subarray(0, this.#pending.length - holdBack);
          this.#pending = this.#pending.subarray(this.#pending.length - holdBack);
        }
        if (!(await this.#pull())) break;
      }
      if (this.#pending.length !== holdBack) throw new GitProtocolError("the packfile ended without its trailer");
    } finally {
      await this.#source.return?.();
    }
  }

  async #pull(): Promise<boolean> {
    const next = await this.#source.next();
    if (next.done) return false;
    this.#pending = this.#pending.length === 0 ? next.value : Buffer.concat([this.#pending, next.value]);
    return true;
  }
}
