/**
 * The resumable upload protocol of the GCS JSON API, one request at a time
 * (https://cloud.google.com/storage/docs/performing-resumable-uploads):
 * - POST …/upload/storage/v1/b/<bucket>/o?uploadType=resumable&name=<name> opens a session; its URI
 *   comes back in `Location` and stays valid for a week;
 * - each chunk is a PUT to the session URI with `Content-Range: bytes <first>-<last>/<total or *>`;
 *   every chunk but the last is a multiple of 256 KiB. The answer to a chunk that is not the last
 *   is 308 with `Range: bytes=0-<n>`: what the server has persisted, which may be less than sent;
 * - a PUT without a body and `Content-Range: bytes *∕*` asks for that status at any time (after a
 *   cut connection), and answers 200 with the object once the last chunk was taken;
 * - the last chunk names the total and answers 200 with the object's metadata (md5Hash, crc32c);
 * - DELETE on the session URI cancels it (GCS answers 499).
 * Requests go through the SDK's own auth client (google-auth-library): the same credentials,
 * token refresh and proxy settings as every other request of this system.
 */
import type { FileMetadata, Storage } from "@google-cloud/storage";
import type { GoogleAuth } from "google-auth-library";

type RequestOptions = Parameters<GoogleAuth["request"]>[0];

const RESUME_INCOMPLETE = 308;

export type SessionStatus = { done: false; persisted: number } | { done: true; metadata: FileMetadata };

export interface SessionTarget {
  bucket: string;
  key: string;
  contentType?: string | undefined;
  /** Refuse to replace an existing object (ifGenerationMatch=0, checked by GCS at the last chunk). */
  ifAbsent: boolean;
}

/** Bytes the 308's `Range: bytes=0-<n>` says are persisted; no header means none. */
function persistedFrom(range: unknown): number {
  const match = typeof range === "string" ? /^bytes=0-(\d+)$/.exec(range.trim()) : null;
  return match ? Number(match[1]) + 1 : 0;
}

function statusOf(response: { status: number; headers: Record<string, unknown>; data: unknown }): SessionStatus {
  if (response.status === RESUME_INCOMPLETE) return { done: false, persisted: persistedFrom(response.headers.range) };
  return { done: true, metadata: response.data as FileMetadata };
}

export class SessionClient {
  constructor(
    private readonly storage: Storage,
    /** A request with no answer for this long is taken for a stalled connection. */
    private readonly stallMs: number,
  ) {}

  /** Opens a session for `target`; resolves with its URI. */
  async open(target: SessionTarget, signal: AbortSignal | undefined): Promise<string> {
    const response = await this.#request(
      {
        method: "POST",
        url: `${this.storage.apiEndpoint}/upload/storage/v1/b/${encodeURIComponent(target.bucket)}/o`,
        params: { uploadType: "resumable", name: target.key, ...(target.ifAbsent ? { ifGenerationMatch: "0" } : {}) },
        headers: {
          "Content-Type": "application/json; charset=UTF-8",
          ...(target.contentType === undefined ? {} : { "X-Upload-Content-Type": target.contentType }),
        },
        data: JSON.stringify({ name: target.key, ...(target.contentType === undefined ? {} : { contentType: target.contentType }) }),
      },
      signal,
    );
    const location = response.headers.location as unknown;
    if (typeof location !== "string" || location === "") throw Object.assign(new Error("GCS opened no upload session (no Location)"), { code: 502 });
    return location;
  }

  /**
   * Sends `bytes` as the session's bytes from `first` on; with `total`, as the last chunk of an
   * object of that size (`hashes`, an `X-Goog-Hash` value, lets GCS refuse a damaged whole).
   */
  async put(
    uri: string,
    bytes: Buffer,
    first: number,
    last: { total: number; hashes: string } | undefined,
    signal: AbortSignal | undefined,
  ): Promise<SessionStatus> {
    const range = bytes.length === 0 ? `bytes */${last ? last.total : "*"}` : `bytes ${first}-${first + bytes.length - 1}/${last ? last.total : "*"}`;
    const response = await this.#request(
      {
        method: "PUT",
        url: uri,
        headers: {
          "Content-Type": "application/octet-stream",
          "Content-Range": range,
          "Content-Length": String(bytes.length),
          ...(last ? { "X-Goog-Hash": last.hashes } : {}),
        },
        data: bytes,
      },
      signal,
    );
    return statusOf(response);
  }

  /** What the session holds now. */
  async query(uri: string, signal: AbortSignal | undefined): Promise<SessionStatus> {
    const response = await this.#request({ method: "PUT", url: uri, headers: { "Content-Range": "bytes */*", "Content-Length": "0" } }, signal);
    return statusOf(response);
  }

  /** Cancels the session; one that is gone or finished already is fine. */
  async cancel(uri: string): Promise<void> {
    await this.#request({ method: "DELETE", url: uri, validateStatus: () => true }, undefined);
  }

  async #request(options: RequestOptions, signal: AbortSignal | undefined) {
    const stalled = new AbortController();
    const timer = setTimeout(() => stalled.abort(), this.stallMs);
    timer.unref();
    try {
      return await this.storage.authClient.request({
        validateStatus: (status: number) => (status >= 200 && status < 300) || status === RESUME_INCOMPLETE,
        ...options,
        retry: false,
        signal: signal ? AbortSignal.any([signal, stalled.signal]) : stalled.signal,
      });
    } catch (error) {
      signal?.throwIfAborted();
      if (stalled.signal.aborted) throw Object.assign(new Error(`no answer from GCS within ${this.stallMs / 1000} s`), { code: "ETIMEDOUT", cause: error });
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}
