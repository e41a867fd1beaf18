/** Names, version keys and records: the registry's parsing rules, without any server. */
import { describe, expect, it } from "vitest";
import { parseName, parsePrefix } from "../../src/registry/names.js";
import { compareVersions, parseRecord, parseVersionKey, savedAddress, versionKey } from "../../src/registry/record.js";
import { Credentials } from "../../src/credentials.js";
import { descriptorOf } from "../../src/systems/addresses.js";
import { isStowageError } from "../../src/errors.js";

describe("names", () => {
  it("reads scope, segments and version", () => {
    expect(parseName("bert")).toMatchObject({ scope: "local", segments: ["bert"], version: undefined, name: "~/bert" });
    expect(parseName("~/ds/bert")).toMatchObject({ scope: "local", segments: ["ds", "bert"], name: "~/ds/bert" });
    expect(parseName("@/ds/bert_tokenized@3")).toMatchObject({ scope: "team", segments: ["ds", "bert_tokenized"], version: 3, name: "@/ds/bert_tokenized" });
    expect(parseName("données/été-2026.v2").segments).toEqual(["données", "été-2026.v2"]);
  });

  it("refuses a version where none is allowed", () => {
    expect(() => parseName("x@2", { allowVersion: false })).toThrow(expect.objectContaining({ code: "InvalidInput" }));
  });

  it("turns prefixes into the folder to list and the text names start with", () => {
    expect(parsePrefix("@/", undefined)).toEqual({ scope: "team", under: [], startsWith: "@/" });
    expect(parsePrefix("~/", "ds/")).toEqual({ scope: "local", under: ["ds"], startsWith: "~/ds/" });
    expect(parsePrefix("@/ds/be", undefined)).toEqual({ scope: "team", under: ["ds"], startsWith: "@/ds/be" });
    expect(parsePrefix(undefined, undefined)).toEqual({ scope: "local", under: [], startsWith: "~/" });
  });
});

describe("version keys", () => {
  it("round-trip claim, time, type and URL, and sort by claim, then time, then the random part", () => {
    const key = versionKey(12, "table", "s3://bucket/a b/ü(1)*", 1764950400123);
    expect(key).toMatch(/^v000012-1764950400123-[0-9a-f]{8}-table-[A-Za-z0-9%._-]+\.json$/);
    expect(parseVersionKey(key)).toMatchObject({ claim: 12, savedAtMs: 1764950400123, type: "table", url: "s3://bucket/a b/ü(1)*" });
    const a = parseVersionKey(versionKey(2, "blob", "/x", 5))!;
    const b = parseVersionKey(versionKey(2, "blob", "/x", 4))!;
    const c = parseVersionKey(versionKey(1, "blob", "/x", 9))!;
    expect([a, b, c].sort(compareVersions)).toEqual([c, b, a]);
  });

  it("leaves a URL too long for a file name out of the key, and ignores foreign files", () => {
    const long = `s3://bucket/${"k".repeat(300)}`;
    const key = versionKey(1, "blob", long);
    expect(Buffer.byteLength(key)).toBeLessThan(255);
    expect(parseVersionKey(key)!.url).toBeUndefined();
    expect(parseVersionKey(".DS_Store")).toBeUndefined();
    expect(parseVersionKey("v000001-1764950400123-0a1b2c3d-spreadsheet-x.json")).toBeUndefined();
  });
});

describe("records", () => {
  it("keep only the allowlisted address fields", () => {
    const credentials = Credentials.for("s3", descriptorOf("s3").credentials, { accessKeyId: "AKIA", secretAccessKey: "very-secret" });
    const saved = savedAddress({ system: "s3", path: "/b/k", credentials } as never);
    expect(saved).toEqual({ system: "s3", path: "/b/k" });
    expect(JSON.stringify({ credentials })).toBe("{}");
    expect(String(credentials)).toBe("[credentials]");
  });

  it("refuse a newer format with Unsupported and garbage with Unexpected", () => {
    const newer = Buffer.from(JSON.stringify({ format: 99, type: "blob", address: { system: "file", path: "/x" } }));
    for (const [bytes, code] of [
      [newer, "Unsupported"],
      [Buffer.from("not json"), "Unexpected"],
      [Buffer.from("{}"), "Unexpected"],
    ] as const) {
      let caught: unknown;
      try {
        parseRecord(bytes, "r.json");
      } catch (error) {
        caught = error;
      }
      expect(isStowageError(caught, code)).toBe(true);
    }
  });
});
