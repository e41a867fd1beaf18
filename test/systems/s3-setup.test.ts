/**
 * How the s3 system configures itself from AWS conventions: endpoint, region fallback, path-style
 * addressing for loopback endpoints, checksum mode for custom endpoints, and credential failures.
 */
import { full } from "../support/full-system.js";
import { afterEach, describe, expect, it } from "vitest";
import { parseAddress } from "../../src/systems/addresses.js";
import type { StowageConfig } from "../../src/config.js";
import { loadConfig } from "../../src/systems/config.js";
import { readAll } from "../../src/systems/body.js";
import { createClient, resolveSettings } from "../../src/systems/s3/client.js";
import { createS3System } from "../../src/systems/s3/system.js";
import { codeOf, uniqueBucket } from "./s3-helpers.js";

const saved = { ...process.env };
afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
});

/** Nothing from this machine's AWS files, so only what a test sets counts. */
function isolateFromAwsFiles(): void {
  process.env.AWS_CONFIG_FILE = "/nonexistent/aws-config";
  process.env.AWS_SHARED_CREDENTIALS_FILE = "/nonexistent/aws-credentials";
  process.env.AWS_EC2_METADATA_DISABLED = "true";
  delete process.env.AWS_PROFILE;
}

const withS3 = (s3: NonNullable<StowageConfig["s3"]>): StowageConfig => ({ s3 });

describe("s3 settings", () => {
  it("takes the endpoint from AWS_ENDPOINT_URL_S3 before AWS_ENDPOINT_URL, and Stowage config before both", async () => {
    isolateFromAwsFiles();
    process.env.AWS_ENDPOINT_URL = "https://generic.example.com";
    expect((await resolveSettings({})).endpoint).toBe("https://generic.example.com");
    process.env.AWS_ENDPOINT_URL_S3 = "https://s3-only.example.com";
    expect((await resolveSettings({})).endpoint).toBe("https://s3-only.example.com");
    expect((await resolveSettings(withS3({ endpoint: "http://127.0.0.1:9" }))).endpoint).toBe("http://127.0.0.1:9");
    delete process.env.AWS_ENDPOINT_URL;
    delete process.env.AWS_ENDPOINT_URL_S3;
    expect((await resolveSettings({})).endpoint).toBeUndefined();
  });

  it("falls back to us-east-1 when no region is configured, and uses the chain's region otherwise", async () => {
    isolateFromAwsFiles();
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    expect((await resolveSettings({})).region).toBe("us-east-1");
    process.env.AWS_REGION = "eu-west-3";
    expect((await resolveSettings({})).region).toBe("eu-west-3");
    expect((await resolveSettings(withS3({ region: "ap-south-1" }))).region).toBe("ap-south-1");
  });

  it("uses path-style addressing for endpoints on 127.0.0.1 or localhost, or when told to", async () => {
    isolateFromAwsFiles();
    const pathStyle = async (s3: NonNullable<StowageConfig["s3"]>) => (await resolveSettings(withS3(s3))).pathStyle;
    expect(await pathStyle({ endpoint: "http://127.0.0.1:9000" })).toBe(true);
    expect(await pathStyle({ endpoint: "http://localhost:9000" })).toBe(true);
    expect(await pathStyle({ endpoint: "http://[::1]:9000" })).toBe(true);
    expect(await pathStyle({ endpoint: "https://minio.example.com" })).toBe(false);
    expect(await pathStyle({ endpoint: "https://minio.example.com", pathStyle: true })).toBe(true);
    expect(await pathStyle({ endpoint: "http://127.0.0.1:9000", pathStyle: false })).toBe(false);
    process.env.STOWAGE_S3_ENDPOINT = "https://ceph.example.com";
    process.env.STOWAGE_S3_PATH_STYLE = "1";
    expect(await resolveSettings(loadConfig())).toMatchObject({ endpoint: "https://ceph.example.com", pathStyle: true });
    // The client really is path-style: the request URL carries the bucket in its path.
    const client = createClient(await resolveSettings(withS3({ endpoint: "http://localhost:9000" })));
    expect(client.config.forcePathStyle).toBe(true);
    client.destroy();
  });

  it("works against the test server through a localhost endpoint (virtual-host URLs would not resolve)", async () => {
    const port = new URL(process.env.AWS_ENDPOINT_URL!).port;
    const system = full(await createS3System(parseAddress({ system: "s3", path: "/" }), withS3({ endpoint: `http://localhost:${port}` })));
    const bucket = uniqueBucket("localhost");
    try {
      await system.write(`/${bucket}/x.txt`, "via localhost");
      expect((await readAll(await system.read(`/${bucket}/x.txt`))).toString()).toBe("via localhost");
    } finally {
      await system.delete([`/${bucket}`], { recursive: true });
      await system.close();
    }
  });

  it("asks for checksums only when required on custom endpoints, unless the user chose a mode", async () => {
    isolateFromAwsFiles();
    const custom = createClient(await resolveSettings(withS3({ endpoint: "http://127.0.0.1:9" })));
    expect(await custom.config.requestChecksumCalculation()).toBe("WHEN_REQUIRED");
    expect(await custom.config.responseChecksumValidation()).toBe("WHEN_REQUIRED");
    custom.destroy();
    process.env.AWS_REQUEST_CHECKSUM_CALCULATION = "WHEN_SUPPORTED";
    const chosen = createClient(await resolveSettings(withS3({ endpoint: "http://127.0.0.1:9" })));
    expect(await chosen.config.requestChecksumCalculation()).toBe("WHEN_SUPPORTED");
    chosen.destroy();
    const aws = createClient(await resolveSettings({}));
    expect(await aws.config.requestChecksumCalculation()).toBe("WHEN_SUPPORTED");
    aws.destroy();
  });

  it("refuses a copyPartSize below S3's 5 MiB minimum part", async () => {
    expect(await codeOf(resolveSettings(withS3({ copyPartSize: 1024 })))).toBe("InvalidInput");
  });
});

describe("s3 credentials", () => {
  it("gives PermissionDenied for a wrong secret, not a raw SDK error", async () => {
    process.env.AWS_SECRET_ACCESS_KEY = "not-the-secret";
    const system = full(await createS3System(parseAddress({ system: "s3", path: "/" }), loadConfig()));
    try {
      expect(await codeOf(system.stat("/any-bucket/key"))).toBe("PermissionDenied");
      expect(await codeOf(system.write(`/${uniqueBucket("denied")}/x.txt`, "x"))).toBe("PermissionDenied");
      const error = await system.read("/any-bucket/key").catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "PermissionDenied", system: "s3", operation: "read", path: "/any-bucket/key" });
    } finally {
      await system.close();
    }
  });

  it("gives PermissionDenied for an unknown access key", async () => {
    process.env.AWS_ACCESS_KEY_ID = "nobody:nobody";
    const system = full(await createS3System(parseAddress({ system: "s3", path: "/" }), loadConfig()));
    try {
      expect(await codeOf(system.stat("/any-bucket"))).toBe("PermissionDenied");
    } finally {
      await system.close();
    }
  });

  it("gives PermissionDenied when the credential chain finds nothing", async () => {
    isolateFromAwsFiles();
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    delete process.env.AWS_SESSION_TOKEN;
    const system = full(await createS3System(parseAddress({ system: "s3", path: "/" }), loadConfig()));
    try {
      expect(await codeOf(system.stat("/any-bucket/key"))).toBe("PermissionDenied");
    } finally {
      await system.close();
    }
  }, 60_000);
});
