/**
 * What a decoding worker runs (the code given to `new Worker(…, { eval: true })`): the compiled
 * worker module where this runs compiled (dist/); undefined where that module is not beside this
 * one (a bundle), so the caller decodes on its own thread.
 *
 * Run from the TypeScript sources (tests, benchmarks), the worker is bundled into one CommonJS file
 * with esbuild (which tsx, the way the sources run, brings), cached in node_modules/.cache/stowage
 * and rebuilt when one of its sources changes: a worker that loaded tsx first took several times
 * as long to start as one running plain JavaScript, which is what users run. Without esbuild, tsx's
 * require hook transpiles it.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

let located: Promise<string | undefined> | undefined;

export function workerSource(): Promise<string | undefined> {
  located ??= locate().catch(() => undefined);
  return located;
}

async function locate(): Promise<string | undefined> {
  const fromSource = import.meta.url.endsWith(".ts");
  const url = new URL(fromSource ? "./worker.ts" : "./worker.js", import.meta.url);
  if (url.protocol !== "file:" || !existsSync(fileURLToPath(url))) return undefined;
  if (!fromSource) return `import(${JSON.stringify(url.href)})`;
  const entry = fileURLToPath(url);
  const bundle = await bundled(entry).catch(() => undefined);
  if (bundle) return `require(${JSON.stringify(bundle)})`;
  const tsx = createRequire(import.meta.url).resolve("tsx/cjs/api");
  return `require(${JSON.stringify(tsx)}).register(); require(${JSON.stringify(entry)})`;
}

interface Built {
  /** Each source file bundled, by absolute path: its size and modification time then. */
  inputs: Record<string, { size: number; mtimeMs: number }>;
}

interface Esbuild {
  build(options: Record<string, unknown>): Promise<{ outputFiles: { contents: Uint8Array }[]; metafile: { inputs: Record<string, unknown> } }>;
}

/** The bundle's path, built now if missing or older than a source. */
async function bundled(entry: string): Promise<string> {
  const load = createRequire(import.meta.url);
  const nodeModules = dirname(dirname(load.resolve("esbuild/package.json")));
  const dir = join(nodeModules, ".cache", "stowage");
  const file = join(dir, "decode-worker.cjs");
  const record = join(dir, "decode-worker.json");
  if (upToDate(file, record)) return file;
  const esbuild = load("esbuild") as Esbuild;
  const base = dirname(entry);
  const result = await esbuild.build({
    entryPoints: [entry],
    absWorkingDir: base,
    bundle: true,
    write: false,
    metafile: true,
    format: "cjs",
    platform: "node",
    target: "node20",
    // Resolved from the sources' place, as when they run (decompress.ts finds the zstd binding so).
    define: { "import.meta.url": JSON.stringify(pathToFileURL(entry).href) },
  });
  const inputs: Built["inputs"] = {};
  for (const input of Object.keys(result.metafile.inputs)) {
    const path = resolve(base, input);
    const { size, mtimeMs } = statSync(path);
    inputs[path] = { size, mtimeMs };
  }
  mkdirSync(dir, { recursive: true });
  // Written aside and renamed: processes starting at once may build it together.
  const suffix = `.${process.pid}.${Date.now()}`;
  writeFileSync(file + suffix, result.outputFiles[0]!.contents);
  renameSync(file + suffix, file);
  writeFileSync(record + suffix, JSON.stringify({ inputs } satisfies Built));
  renameSync(record + suffix, record);
  return file;
}

function upToDate(file: string, record: string): boolean {
  try {
    if (!existsSync(file)) return false;
    const { inputs } = JSON.parse(readFileSync(record, "utf8")) as Built;
    return Object.entries(inputs).every(([path, was]) => {
      const now = statSync(path);
      return now.size === was.size && now.mtimeMs === was.mtimeMs;
    });
  } catch {
    return false;
  }
}
