import { homedir } from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import { formatAddress, parseAddress } from "../../src/systems/addresses.js";
import { isStowageError } from "../../src/errors.js";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isStowageError(error) ? error.code : "not a StowageError";
  }
  return undefined;
}

describe("addresses", () => {
  const serverUrl = process.env.GITHUB_SERVER_URL;
  afterEach(() => {
    if (serverUrl === undefined) delete process.env.GITHUB_SERVER_URL;
    else process.env.GITHUB_SERVER_URL = serverUrl;
  });

  it("parses object-store URLs with the bucket as the first path segment", () => {
    expect(parseAddress("s3://bucket/dir/key.bin")).toEqual({ system: "s3", path: "/bucket/dir/key.bin" });
    expect(parseAddress("gs://b/k")).toEqual({ system: "gs", path: "/b/k" });
    expect(parseAddress("gcs://b/k")).toEqual({ system: "gs", path: "/b/k" });
    expect(parseAddress("az://container/k")).toEqual({ system: "azure", path: "/container/k" });
    expect(parseAddress("s3://bucket")).toEqual({ system: "s3", path: "/bucket" });
    expect(parseAddress("s3://bucket/dir/")).toEqual({ system: "s3", path: "/bucket/dir" });
  });

  it("takes object keys literally, with spaces and #?%+", () => {
    expect(parseAddress("s3://b/a b/c#d?e%20f+g").path).toBe("/b/a b/c#d?e%20f+g");
  });

  it("parses { system, path } objects, with aliases", () => {
    expect(parseAddress({ system: "s3", path: "/ds/bert_preproc" })).toEqual({ system: "s3", path: "/ds/bert_preproc" });
    expect(parseAddress({ system: "sftp", host: "gpu-box", path: "/data" })).toEqual({ system: "ssh", host: "gpu-box", path: "/data" });
    expect(parseAddress({ system: "local", path: "/tmp/x" })).toEqual({ system: "file", path: "/tmp/x" });
  });

  it("parses ssh and sftp URLs with user, port and home-relative paths", () => {
    expect(parseAddress("ssh://me@gpu-box:2222/data/ckpts")).toEqual({ system: "ssh", host: "gpu-box", user: "me", port: 2222, path: "/data/ckpts" });
    expect(parseAddress("sftp://gpu-box/~/ckpts")).toEqual({ system: "ssh", host: "gpu-box", path: "/~/ckpts" });
    expect(parseAddress("ssh://[::1]:22/x")).toMatchObject({ host: "::1", port: 22 });
  });

  it("resolves plain paths and file URLs to absolute local paths", () => {
    expect(parseAddress("data/x", "/work")).toEqual({ system: "file", path: "/work/data/x" });
    expect(parseAddress("/abs/./y/")).toEqual({ system: "file", path: "/abs/y" });
    expect(parseAddress("~/z").path).toBe(`${homedir()}/z`);
    expect(parseAddress("file:///tmp/a%20b")).toEqual({ system: "file", path: "/tmp/a b" });
  });

  it("parses GitHub addresses, including the web URL form and GitHub Enterprise", () => {
    expect(parseAddress("github://org/repo@v1.0/docs")).toEqual({ system: "github", path: "/org/repo@v1.0/docs" });
    expect(parseAddress("https://github.com/org/repo/tree/feature/x/docs")).toEqual({ system: "github", path: "/org/repo@feature/x/docs" });
    expect(parseAddress("https://github.com/org/repo")).toEqual({ system: "github", path: "/org/repo" });
    process.env.GITHUB_SERVER_URL = "https://git.example.com";
    expect(parseAddress("https://git.example.com/org/repo/tree/main/a")).toEqual({
      system: "github",
      path: "/org/repo@main/a",
      server: "https://git.example.com",
    });
  });

  it("rejects unknown systems, malformed URLs and unsafe paths with InvalidInput", () => {
    expect(codeOf(() => parseAddress("ftp://host/x"))).toBe("InvalidInput");
    expect(codeOf(() => parseAddress({ system: "dropbox", path: "/x" }))).toBe("InvalidInput");
    expect(codeOf(() => parseAddress("ssh:///no-host"))).toBe("InvalidInput");
    expect(codeOf(() => parseAddress("https://example.com/file"))).toBe("InvalidInput");
    expect(codeOf(() => parseAddress("s3://b/../etc"))).toBe("InvalidInput");
    expect(codeOf(() => parseAddress(""))).toBe("InvalidInput");
    expect(codeOf(() => parseAddress({ system: "ssh", path: "/x" }))).toBe("InvalidInput");
  });

  it("formats addresses back into URLs that parse to the same address", () => {
    for (const url of ["s3://b/k", "gs://b/k", "az://c/k", "ssh://me@h:2222/d", "github://o/r@main/p", "/tmp/x"]) {
      expect(formatAddress(parseAddress(url))).toBe(url);
      expect(parseAddress(formatAddress(parseAddress(url)))).toEqual(parseAddress(url));
    }
  });
});
