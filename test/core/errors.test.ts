import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/systems/config.js";
import { StowageError, isStowageError, toStowageError } from "../../src/errors.js";
import { tempDir } from "../support/process.js";

describe("errors", () => {
  it("carry code, retryable, system, operation, path and the provider error as cause", () => {
    const cause = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
    const error = toStowageError(cause, { system: "s3", operation: "read", path: "/b/k" });
    expect(error).toBeInstanceOf(StowageError);
    expect(error).toMatchObject({ code: "Unavailable", retryable: true, system: "s3", operation: "read", path: "/b/k" });
    expect(error.cause).toBe(cause);
    expect(JSON.parse(JSON.stringify(error))).toMatchObject({ code: "Unavailable", system: "s3", cause: cause.message });
  });

  it("map Node's error codes and leave an existing StowageError alone", () => {
    const context = { system: "file", operation: "stat" };
    expect(toStowageError(Object.assign(new Error(), { code: "ENOENT" }), context).code).toBe("NotFound");
    expect(toStowageError(Object.assign(new Error(), { code: "EACCES" }), context)).toMatchObject({ code: "PermissionDenied", retryable: false });
    expect(toStowageError(new Error("odd"), context).code).toBe("Unexpected");
    const original = new StowageError({ code: "Conflict", system: "gs" });
    expect(toStowageError(original, context)).toBe(original);
    expect(isStowageError(original, "Conflict")).toBe(true);
    expect(isStowageError(original, "NotFound")).toBe(false);
  });

  it("let a provider mapping decide the code", () => {
    const error = toStowageError({ name: "NoSuchKey" }, { system: "s3", operation: "read" }, (e) =>
      (e as { name: string }).name === "NoSuchKey" ? { code: "NotFound" } : undefined,
    );
    expect(error.code).toBe("NotFound");
  });
});

describe("config", () => {
  it("reads the config file and lets STOWAGE_* variables override it", () => {
    const dir = tempDir("config");
    const file = join(dir, "config.json");
    writeFileSync(file, JSON.stringify({ s3: { endpoint: "http://file-endpoint", region: "eu-west-1" }, ssh: { acceptNewHostKeys: true } }));
    const config = loadConfig({ STOWAGE_CONFIG: file, STOWAGE_S3_ENDPOINT: "http://env-endpoint", STOWAGE_SSH_ACCEPT_NEW_HOST_KEYS: "0" });
    expect(config.s3).toEqual({ endpoint: "http://env-endpoint", region: "eu-west-1" });
    expect(config.ssh?.acceptNewHostKeys).toBe(false);
  });

  it("rejects a config file that is not JSON with InvalidInput", () => {
    const file = join(tempDir("config"), "config.json");
    writeFileSync(file, "{ nope");
    expect(() => loadConfig({ STOWAGE_CONFIG: file })).toThrowError(expect.objectContaining({ code: "InvalidInput" }));
  });

  it("is empty without a file or variables", () => {
    expect(loadConfig({ STOWAGE_CONFIG: "/nonexistent/config.json" }).s3).toEqual({});
  });
});
