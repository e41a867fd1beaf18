/**
 * Bundles the runner a host runs for a copy out of it (src/remote/main.ts) into one file,
 * dist/runner/stowage-runner.mjs, with the provider SDKs inside: the host needs Node and nothing
 * from a registry. `npm run build` and `prepare` run it; tests call `buildRunner()`.
 */
import { createRequire } from "node:module";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const RUNNER_BUNDLE = join(ROOT, "dist", "runner", "stowage-runner.mjs");

interface EsbuildModule {
  build(options: Record<string, unknown>): Promise<{ outputFiles: Array<{ contents: Uint8Array }>; warnings: unknown[] }>;
}

/** esbuild as installed beside tsx (not a dependency of its own): a clear error when it is missing. */
function loadEsbuild(): EsbuildModule {
  try {
    return createRequire(join(ROOT, "package.json"))("esbuild") as EsbuildModule;
  } catch (error) {
    throw new Error(`cannot bundle the remote runner: esbuild is not in node_modules (it comes with tsx; run \`npm ci\`): ${(error as Error).message}`);
  }
}

/** Writes the bundle (atomically: tests in parallel may build it at once) and returns its path. */
export async function buildRunner(outfile: string = RUNNER_BUNDLE): Promise<string> {
  const esbuild = loadEsbuild();
  const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
  const result = await esbuild.build({
    entryPoints: [join(ROOT, "src", "remote", "main.ts")],
    bundle: true,
    write: false,
    outfile,
    platform: "node",
    format: "esm",
    target: "node20",
    legalComments: "none",
    // Less than half the size to upload (once per host and version); names kept for SDKs that read them.
    minify: true,
    keepNames: true,
    logLevel: "error",
    // ssh2's optional native speedups (it works without them) and table-only native modules.
    external: ["cpu-features", "*.node", "@mongodb-js/zstd", "@duckdb/node-api"],
    // CommonJS SDKs require Node's own modules; an ES module bundle has no `require` of its own.
    banner: { js: `import { createRequire as __stowageRequire } from "node:module"; const require = __stowageRequire(import.meta.url);` },
    plugins: [
      {
        name: "stowage-version",
        // version.ts reads package.json beside the package; the bundle lives alone in a cache.
        setup(build: { onLoad(filter: { filter: RegExp }, load: () => { contents: string; loader: string }): void }) {
          build.onLoad({ filter: /[\\/]src[\\/]version\.ts$/ }, () => ({ contents: `export const VERSION = ${JSON.stringify(version)};`, loader: "ts" }));
        },
      },
    ],
  });
  mkdirSync(dirname(outfile), { recursive: true });
  const temp = `${outfile}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(temp, result.outputFiles[0]!.contents);
  renameSync(temp, outfile);
  return outfile;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const started = Date.now();
  const path = await buildRunner();
  process.stdout.write(`[build] ${path} (${(readFileSync(path).length / 1048576).toFixed(1)} MiB) in ${Date.now() - started} ms\n`);
}
