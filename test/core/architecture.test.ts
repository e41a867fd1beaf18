/**
 * The layering rules of docs/architecture.md, enforced on the import statements of src/:
 * systems never import the registry, resources, the transfer engine or the CLI; the registry never
 * imports resources, transfers or the CLI; resources never import the CLI;
 * the CLI imports only the public API (src/index.ts) and packages.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = resolve("src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Relative imports of a file, resolved to paths under src/ (e.g. "systems/file.ts"). */
function localImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specifiers = [...text.matchAll(/(?:import|export)[^"';]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1] ?? m[2] ?? "");
  return specifiers.filter((s) => s.startsWith(".")).map((s) => relative(SRC, resolve(dirname(file), s)).replace(/\.js$/, ".ts"));
}

const layerOf = (path: string) => path.split("/")[0]!;

describe("architecture", () => {
  const files = sourceFiles(SRC).map((file) => ({ file: relative(SRC, file), imports: localImports(file) }));

  it("finds the source tree and its imports", () => {
    expect(files.some((f) => f.file === "systems/file/system.ts")).toBe(true);
    expect(files.find((f) => f.file === "systems/catalog.ts")?.imports).toContain("systems/file/index.ts");
  });

  it("systems never import resources, transfers or the CLI", () => {
    const offending = files
      .filter((f) => layerOf(f.file) === "systems")
      .flatMap((f) => f.imports.filter((i) => ["resources", "transfer", "registry", "cli", "index.ts"].includes(layerOf(i))).map((i) => `${f.file} → ${i}`));
    expect(offending).toEqual([]);
  });

  it("the registry is built on systems alone: never resources, transfers or the CLI", () => {
    const registry = files.filter((f) => layerOf(f.file) === "registry");
    expect(registry.length).toBeGreaterThan(0);
    const offending = registry.flatMap((f) =>
      f.imports.filter((i) => ["resources", "transfer", "cli", "index.ts"].includes(layerOf(i))).map((i) => `${f.file} → ${i}`),
    );
    expect(offending).toEqual([]);
  });

  it("resources and transfers never import the CLI", () => {
    const offending = files
      .filter((f) => ["resources", "transfer"].includes(layerOf(f.file)))
      .flatMap((f) => f.imports.filter((i) => layerOf(i) === "cli").map((i) => `${f.file} → ${i}`));
    expect(offending).toEqual([]);
  });

  it("base modules (address, config, credentials, errors, version) import nothing above them", () => {
    const base = ["address.ts", "config.ts", "credentials.ts", "errors.ts", "version.ts"];
    const offending = files.filter((f) => base.includes(f.file)).flatMap((f) => f.imports.filter((i) => !base.includes(i)).map((i) => `${f.file} → ${i}`));
    expect(offending).toEqual([]);
  });

  it("systems never import each other: a system's folder imports only its own files and the shared systems/ modules", () => {
    const folderOf = (path: string) => (path.startsWith("systems/") && path.split("/").length > 2 ? path.split("/")[1] : undefined);
    const offending = files.flatMap((f) => {
      const own = folderOf(f.file);
      return f.imports.filter((i) => folderOf(i) !== undefined && folderOf(i) !== own && f.file !== "systems/catalog.ts").map((i) => `${f.file} → ${i}`);
    });
    expect(offending).toEqual([]);
  });

  it("the transfer engine and resources reach systems through the contract, never a system's folder", () => {
    const offending = files
      .filter((f) => ["resources", "transfer", "registry", "testing"].includes(layerOf(f.file)))
      .flatMap((f) => f.imports.filter((i) => i.startsWith("systems/") && i.split("/").length > 2).map((i) => `${f.file} → ${i}`));
    expect(offending).toEqual([]);
  });

  it("the systems catalog lists every system folder (scripts/systems-catalog.ts)", async () => {
    const { renderCatalog, systemFolders } = await import("../../scripts/systems-catalog.js");
    expect(readFileSync(join(SRC, "systems", "catalog.ts"), "utf8")).toBe(renderCatalog(systemFolders()));
  });

  it("the engine asks a system for extensions, never for its name (docs/architecture.md)", () => {
    const names = ["file", "ssh", "sftp", "s3", "gs", "azure", "github"].join("|");
    const byName = new RegExp(`\\.name\\s*[!=]==?\\s*["'](?:${names})["']|["'](?:${names})["']\\s*[!=]==?\\s*[\\w.]*\\.name\\b`);
    const offending = files
      .filter((f) => ["transfer", "resources"].includes(layerOf(f.file)))
      .filter((f) => byName.test(readFileSync(join(SRC, f.file), "utf8")))
      .map((f) => f.file);
    expect(files.filter((f) => layerOf(f.file) === "transfer").length).toBeGreaterThan(5);
    expect(offending).toEqual([]);
  });

  it("a provider's name appears in code only inside its own folder: a new system touches nothing else", () => {
    const providers = ["s3", "gs", "gcs", "azure", "az", "github"];
    const literal = new RegExp(`["'\`](?:${providers.join("|")})["'\`]`);
    const code = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
    const offending = files
      .filter((f) => !/^systems\/[^/]+\//.test(f.file) && f.file !== "systems/catalog.ts")
      .filter((f) => literal.test(code(readFileSync(join(SRC, f.file), "utf8"))))
      .map((f) => f.file);
    expect(offending).toEqual([]);
  });

  it("the layer picture in docs/architecture.md names every top-level part of src/, and nothing that is not there", () => {
    const doc = readFileSync("docs/architecture.md", "utf8");
    const picture = /```\n( ┌[\s\S]*?)```/.exec(doc)?.[1] ?? "";
    expect(picture).not.toBe("");
    // A layer's row starts with its parts: "│ cli/", "│ address.ts config.ts …" (one space apart).
    const rows = picture.split("\n").map((line) => /^ │ ((?:[a-z][\w-]*(?:\/|\.ts)(?: (?=[a-z]))?)+)/.exec(line)?.[1] ?? "");
    const inPicture = new Set(
      rows
        .flatMap((row) => row.split(" "))
        .filter(Boolean)
        .map((part) => part.replace(/\/$/, "")),
    );
    const inTree = new Set(readdirSync(SRC).map((entry) => entry.replace(/\/$/, "")));
    expect([...inTree].filter((entry) => !inPicture.has(entry)).sort()).toEqual([]);
    expect([...inPicture].filter((entry) => !inTree.has(entry)).sort()).toEqual([]);
  });

  it("the remote runner uses the transfer engine and the systems, never the resources (its bundle holds no Arrow or Parquet)", () => {
    const runner = files.filter((f) => layerOf(f.file) === "remote");
    expect(runner.length).toBeGreaterThan(0);
    const allowed = (i: string) =>
      ["transfer", "systems", "remote"].includes(layerOf(i)) || ["errors.ts", "version.ts", "address.ts", "config.ts", "credentials.ts"].includes(i);
    const offending = runner.flatMap((f) => f.imports.filter((i) => !allowed(i)).map((i) => `${f.file} → ${i}`));
    expect(offending).toEqual([]);
  });

  it("parquet/ knows the format and a byte-range source: it imports nothing of Stowage but errors.ts", () => {
    const parquet = files.filter((f) => layerOf(f.file) === "parquet");
    expect(parquet.length).toBeGreaterThan(10);
    const offending = parquet.flatMap((f) => f.imports.filter((i) => layerOf(i) !== "parquet" && i !== "errors.ts").map((i) => `${f.file} → ${i}`));
    expect(offending).toEqual([]);
  });

  it("the CLI uses only the public API", () => {
    const offending = files
      .filter((f) => layerOf(f.file) === "cli")
      .flatMap((f) => f.imports.filter((i) => i !== "index.ts" && layerOf(i) !== "cli").map((i) => `${f.file} → ${i}`));
    expect(offending).toEqual([]);
  });
});
