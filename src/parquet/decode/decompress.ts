/**
 * Page decompression outside WebAssembly. zstd, the default codec, decodes about 200 MB/s in
 * parquet-wasm here against 1.3 GB/s natively, so whole-table reads spent most of their time in
 * it. The native decoder is Node's own where it has one (22.15 and later), else the optional
 * `@mongodb-js/zstd` (prebuilt binaries shipped through npm). Both run on libuv's thread pool, so
 * pages decompress in parallel while this thread decodes. Without either, zstd pages are left to
 * parquet-wasm (the caller falls back).
 */
import { createRequire } from "node:module";
import { promisify } from "node:util";
import * as zlib from "node:zlib";

export type Decompress = (bytes: Uint8Array) => Promise<Uint8Array>;

/** The optional package, named through a variable so the build does not require it. */
const ZSTD_PACKAGE = "@mongodb-js/zstd";

let zstd: Promise<Decompress | undefined> | undefined;

type ZstdModule = { decompress?: (b: Buffer) => Promise<Buffer>; default?: { decompress: (b: Buffer) => Promise<Buffer> } };

/**
 * On Linux, the package's prebuilt glibc binding loaded directly: the package's own loader first
 * asks `process.report` for the libc in use, which took 20-60 ms of every read's start. Elsewhere,
 * or where that binding is not installed or does not load (musl), the package's loader decides.
 */
function platformBinding(): ZstdModule | undefined {
  if (process.platform !== "linux") return undefined;
  try {
    return createRequire(import.meta.url)(`${ZSTD_PACKAGE}-linux-${process.arch}-gnu`) as ZstdModule;
  } catch {
    return undefined;
  }
}

function nativeZstd(): Promise<Decompress | undefined> {
  zstd ??= (async () => {
    const builtin = (zlib as unknown as { zstdDecompress?: (b: Uint8Array, cb: (e: Error | null, r: Buffer) => void) => void }).zstdDecompress;
    if (typeof builtin === "function") return promisify(builtin);
    try {
      const module = platformBinding() ?? ((await import(ZSTD_PACKAGE)) as ZstdModule);
      const decompress = module.decompress ?? module.default?.decompress;
      if (!decompress) return undefined;
      return (bytes) => decompress(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } catch {
      return undefined;
    }
  })();
  return zstd;
}

const identity: Decompress = (bytes) => Promise.resolve(bytes);
const gunzip = promisify(zlib.gunzip) as Decompress;
const brotli = promisify(zlib.brotliDecompress) as Decompress;

/** A decompressor for a Parquet codec, or undefined where only parquet-wasm has one (snappy, LZ4). */
export async function decompressorFor(codec: string): Promise<Decompress | undefined> {
  switch (codec) {
    case "UNCOMPRESSED":
      return identity;
    case "ZSTD":
      return nativeZstd();
    case "GZIP":
      return gunzip;
    case "BROTLI":
      return brotli;
    default:
      return undefined;
  }
}
