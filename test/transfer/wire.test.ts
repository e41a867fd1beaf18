/**
 * The wire protocol between a caller and the runner on an SSH host: every transfer option that can
 * cross does, errors keep their fields, and both ends refuse another protocol version.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { runRequest } from "../../src/remote/runner.js";
import { StowageError, type TransferOptions } from "../../src/index.js";
import { expectCode } from "../../src/testing/index.js";
import {
  CALLER_ONLY_OPTIONS,
  WIRE_OPTIONS,
  WIRE_PROTOCOL,
  decodeLine,
  decodeRequest,
  encodeError,
  encodeEvent,
  encodeReport,
  encodeRequest,
  placeAddress,
  wireOptions,
  type WireOptions,
} from "../../src/transfer/wire.js";

/** Every option that crosses, each set to a value other than its default: the compiler rejects a missing one. */
const EVERY_OPTION: Required<WireOptions> = {
  deleteExtras: true,
  skip: "size-mtime",
  dryRun: true,
  files: ["a.txt", "sub/b.bin"],
  include: ["*.txt", "sub/**"],
  exclude: ["*.map"],
  ignoreFiles: [".gitignore"],
  includeGit: true,
  overwrite: false,
  concurrency: 3,
  partSize: 5 << 20,
  partConcurrency: 2,
  streams: 1,
  multiStreamCutoff: 64 << 20,
  retries: 7,
  verify: false,
  resume: false,
  progressInterval: 50,
};

const decode = (line: string) => {
  const message = decodeLine(line);
  if (!message) throw new Error(`not a message: ${line}`);
  return message;
};

describe("wire protocol", () => {
  it("carries every serialisable transfer option, and only those", () => {
    const all: Required<TransferOptions> = {
      ...EVERY_OPTION,
      remote: "require",
      remoteCredentials: "scoped",
      onProgress: () => {},
      signal: new AbortController().signal,
    };
    // The two lists split TransferOptions between them, with nothing left over.
    expect([...Object.keys(WIRE_OPTIONS), ...Object.keys(CALLER_ONLY_OPTIONS)].sort()).toEqual(Object.keys(all).sort());
    const request = decodeRequest(encodeRequest({ source: { path: "~/data" }, destination: { url: "s3://b/k" }, options: all, env: { TOKEN: "x" } }));
    expect(request.options).toEqual(EVERY_OPTION);
    expect(request).toMatchObject({ protocol: WIRE_PROTOCOL, source: { path: "~/data" }, destination: { url: "s3://b/k" }, env: { TOKEN: "x" } });
    expect(wireOptions({ exclude: ["x"], remote: "auto" })).toEqual({ exclude: ["x"] });
  });

  it("carries either end as a path on the host or a URL, both directions", () => {
    const into = decodeRequest(encodeRequest({ source: { url: "gs://b/data" }, destination: { path: "/srv/data" }, options: {}, env: {} }));
    expect(into).toMatchObject({ source: { url: "gs://b/data" }, destination: { path: "/srv/data" } });
    expect(placeAddress(into.source)).toBe("gs://b/data");
    expect(placeAddress(into.destination)).toBe("/srv/data");
    const home = decodeRequest(encodeRequest({ source: { path: "~" }, destination: { path: "~/copy" }, options: {}, env: {} }));
    expect([placeAddress(home.source), placeAddress(home.destination)]).toEqual(["~", "~/copy"]);
  });

  it("refuses another protocol version on both ends with Unsupported", async () => {
    const request = JSON.parse(encodeRequest({ source: { path: "/a" }, destination: { url: "s3://b/k" }, options: {}, env: {} })) as Record<string, unknown>;
    await expectCode(
      Promise.resolve().then(() => decodeRequest(JSON.stringify({ ...request, protocol: WIRE_PROTOCOL + 1 }))),
      "Unsupported",
    );
    await expectCode(
      Promise.resolve().then(() => decodeRequest(JSON.stringify({ ...request, protocol: undefined }))),
      "Unsupported",
    );
    // A request of protocol 1 (source a bare path, destination a bare URL) is another version, not a malformed one.
    await expectCode(
      Promise.resolve().then(() => decodeRequest(JSON.stringify({ protocol: 1, source: "/a", destination: "s3://b/k", options: {}, env: {} }))),
      "Unsupported",
    );
    const line = JSON.stringify({ ...(JSON.parse(encodeError(new Error("x"))) as object), protocol: WIRE_PROTOCOL + 1 });
    await expectCode(
      Promise.resolve().then(() => decodeLine(line)),
      "Unsupported",
    );
  });

  it("rejects a malformed request with InvalidInput", async () => {
    const base = { protocol: WIRE_PROTOCOL, source: { path: "/a" }, destination: { url: "s3://b/k" }, env: {} };
    for (const bad of [
      "not json",
      JSON.stringify({ ...base, options: { concurrency: "3" } }),
      JSON.stringify({ ...base, options: { skip: "sometimes" } }),
      JSON.stringify({ ...base, options: { onProgress: true } }),
      JSON.stringify({ ...base, env: { A: 1 } }),
      JSON.stringify({ ...base, source: 1 }),
      JSON.stringify({ ...base, source: "/a" }),
      JSON.stringify({ ...base, source: { path: "relative/a" } }),
      JSON.stringify({ ...base, source: { path: "s3://b/k" } }),
      JSON.stringify({ ...base, destination: { url: "/not/a/url" } }),
      JSON.stringify({ ...base, destination: { url: "s3://b/k", path: "/a" } }),
      JSON.stringify({ ...base, destination: {} }),
      JSON.stringify({ ...base, progress: "yes" }),
    ]) {
      await expectCode(
        Promise.resolve().then(() => decodeRequest(bad)),
        "InvalidInput",
      );
    }
  });

  it("keeps a StowageError's fields across, in errors, file events and reports", () => {
    const error = new StowageError({ code: "RateLimited", system: "s3", operation: "write", path: "/b/k", message: "slow down", retryable: true });
    const fields = (e: StowageError) => ({ code: e.code, message: e.message, retryable: e.retryable, system: e.system, operation: e.operation, path: e.path });
    const sent = decode(encodeError(error));
    expect("error" in sent && sent.error).toBeInstanceOf(StowageError);
    expect("error" in sent && fields(sent.error)).toEqual(fields(error));

    const event = decode(encodeEvent({ type: "file", path: "k", status: "failed", bytes: 0, error }));
    expect("event" in event && event.event.type === "file" && event.event.error && fields(event.event.error)).toEqual(fields(error));

    const report = {
      source: "/a",
      destination: "s3://b",
      dryRun: false,
      copied: [{ path: "x", bytes: 3, resumedBytes: 1 }],
      skipped: [{ path: "y", bytes: 1, reason: "unchanged" as const }],
      failed: [{ path: "k", error }],
      deleted: [],
      bytes: 3,
      durationMs: 5,
      ranOn: ["caller" as const],
    };
    const back = decode(encodeReport(report));
    expect("report" in back && { ...back.report, failed: back.report.failed.map((f) => ({ path: f.path, error: fields(f.error) })) }).toEqual({
      ...report,
      failed: [{ path: "k", error: fields(error) }],
    });
    // A login script's chatter on stdout is not a message.
    expect(decodeLine("Welcome to the host!")).toBeUndefined();
  });

  it("the runner applies the options it receives", async () => {
    const root = mkdtempSync(join(tmpdir(), "stowage-wire-"));
    const source = join(root, "src");
    const destination = join(root, "dst");
    mkdirSync(join(source, "sub"), { recursive: true });
    for (const [name, text] of Object.entries({ "a.txt": "alpha", "b.map": "map", "sub/c.txt": "gamma", "d.txt": "delta" }))
      writeFileSync(join(source, name), text);

    const run = async (options: WireOptions) => {
      const lines: string[] = [];
      const code = await runRequest(encodeRequest({ source: { path: source }, destination: { path: destination }, options, env: {} }), (line) =>
        lines.push(line),
      );
      const messages = lines.map(decode);
      const report = messages.flatMap((m) => ("report" in m ? [m.report] : []))[0];
      return { code, messages, report };
    };

    const first = await run({ exclude: ["*.map"], files: ["a.txt", "b.map", "sub/c.txt"], concurrency: 1 });
    expect(first.code).toBe(0);
    expect(first.report?.copied.map((f) => f.path).sort()).toEqual(["a.txt", "sub/c.txt"]);
    expect(first.messages.filter((m) => "event" in m && m.event.type === "file").length).toBe(2);
    expect(readdirSync(destination).sort()).toEqual(["a.txt", "sub"]);

    const second = await run({ skip: "size", dryRun: true });
    expect(second.report?.dryRun).toBe(true);
    expect(second.report?.skipped.map((f) => f.path).sort()).toEqual(["a.txt", "sub/c.txt"]);
    expect(second.report?.copied.map((f) => f.path).sort()).toEqual(["b.map", "d.txt"]);
    expect(readdirSync(destination).sort()).toEqual(["a.txt", "sub"]); // a dry run wrote nothing

    const refused = await run({ overwrite: false, include: ["a.txt"] });
    expect(refused.report?.failed.map((f) => [f.path, f.error.code])).toEqual([["a.txt", "AlreadyExists"]]);

    const invalid = await run({ concurrency: -1 });
    expect(invalid.code).toBe(1);
    expect(invalid.messages.map((m) => "error" in m && m.error.code)).toEqual(["InvalidInput"]);
  });

  it("the runner copies from a URL into a path on its host", async () => {
    const root = mkdtempSync(join(tmpdir(), "stowage-wire-"));
    mkdirSync(join(root, "src", "sub"), { recursive: true });
    writeFileSync(join(root, "src", "sub", "c.txt"), "gamma");
    const lines: string[] = [];
    const request = encodeRequest({ source: { url: pathToFileURL(join(root, "src")).href }, destination: { path: join(root, "dst") }, options: {}, env: {} });
    expect(await runRequest(request, (line) => lines.push(line))).toBe(0);
    const report = lines.map(decode).flatMap((m) => ("report" in m ? [m.report] : []))[0];
    expect(report?.copied.map((f) => f.path)).toEqual(["sub/c.txt"]);
    expect(readFileSync(join(root, "dst", "sub", "c.txt"), "utf8")).toBe("gamma");
  });

  it("the runner sends progress only to a caller that listens", async () => {
    const root = mkdtempSync(join(tmpdir(), "stowage-wire-"));
    mkdirSync(join(root, "src"));
    for (const name of ["a", "b", "c"]) writeFileSync(join(root, "src", name), name);
    const run = async (progress: boolean | undefined, destination: string) => {
      const lines: string[] = [];
      const request = encodeRequest({
        source: { path: join(root, "src") },
        destination: { path: join(root, destination) },
        options: {},
        env: {},
        ...(progress === undefined ? {} : { progress }),
      });
      expect(await runRequest(request, (line) => lines.push(line))).toBe(0);
      return lines.map(decode);
    };
    const quiet = await run(false, "quiet");
    expect(quiet.map((m) => Object.keys(m).find((k) => k !== "protocol"))).toEqual(["report"]);
    expect(readdirSync(join(root, "quiet")).sort()).toEqual(["a", "b", "c"]);
    // An older caller that does not say: events as before.
    for (const progress of [true, undefined]) {
      const events = (await run(progress, `loud-${String(progress)}`)).filter((m) => "event" in m);
      expect(events.filter((m) => "event" in m && m.event.type === "file").length).toBe(3);
    }
  });
});
