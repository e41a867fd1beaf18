/**
 * How the azure system finds its account and credential, and how provider errors become codes.
 * Building clients makes no request, so these need no server; the errors are the SDKs' own classes.
 */
import { AuthenticationError, CredentialUnavailableError } from "@azure/identity";
import { canWrite, has, need } from "../../src/systems/extensions.js";
import { RestError } from "@azure/storage-blob";
import { describe, expect, it } from "vitest";
import { parseAddress } from "../../src/systems/addresses.js";
import { toStowageError } from "../../src/errors.js";
import { connectAzure } from "../../src/systems/azure/credentials.js";
import { mapAzureError } from "../../src/systems/azure/errors.js";
import { createAzureSystem } from "../../src/systems/azure/system.js";

const KEY = Buffer.alloc(64, 1).toString("base64");
const address = parseAddress("az://container/key");
const connectionString = (account: string) =>
  `DefaultEndpointsProtocol=http;AccountName=${account};AccountKey=${KEY};BlobEndpoint=http://127.0.0.1:1/${account};`;

describe("azure: choosing account and credential", () => {
  it("takes a connection string first, with its own endpoint", async () => {
    const connection = await connectAzure(
      address,
      {},
      { AZURE_STORAGE_CONNECTION_STRING: connectionString("emu"), AZURE_STORAGE_ACCOUNT: "other", AZURE_STORAGE_KEY: KEY },
    );
    expect(connection).toMatchObject({ account: "emu", auth: "sharedKey" });
    expect(connection.service.url).toBe("http://127.0.0.1:1/emu");
  });

  it("skips a connection string made for another account than the address names", async () => {
    const env = { AZURE_STORAGE_CONNECTION_STRING: connectionString("emu"), AZURE_STORAGE_KEY: KEY };
    const connection = await connectAzure({ ...address, account: "prod" }, {}, env);
    expect(connection).toMatchObject({ account: "prod", auth: "sharedKey" });
    expect(connection.service.url).toBe("https://prod.blob.core.windows.net/");
  });

  it("uses account + key, with the configured endpoint or Azure's default", async () => {
    const env = { AZURE_STORAGE_ACCOUNT: "acct", AZURE_STORAGE_KEY: KEY };
    expect((await connectAzure(address, {}, env)).service.url).toBe("https://acct.blob.core.windows.net/");
    const configured = await connectAzure(address, { azure: { account: "cfg", endpoint: "http://127.0.0.1:2/cfg/" } }, env);
    expect(configured).toMatchObject({ account: "cfg", auth: "sharedKey" });
    expect(configured.service.url).toBe("http://127.0.0.1:2/cfg");
    expect((await connectAzure(address, {}, { ...env, STOWAGE_AZURE_ACCOUNT: "stow" })).account).toBe("stow");
  });

  it("falls back to a SAS token, then to DefaultAzureCredential", async () => {
    const sas = await connectAzure(address, {}, { AZURE_STORAGE_ACCOUNT: "acct", AZURE_STORAGE_SAS_TOKEN: "?sv=2024&sig=abc" });
    expect(sas.auth).toBe("sas");
    expect(sas.service.url).toContain("sig=abc");
    const token = await connectAzure(address, {}, { AZURE_STORAGE_ACCOUNT: "acct" });
    expect(token).toMatchObject({ account: "acct", auth: "token" });
  });

  it("without any account says what to set, as InvalidInput", async () => {
    const error = await connectAzure(address, {}, {}).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "InvalidInput", system: "azure" });
  });

  it("the system id names account and endpoint host", async () => {
    const saved = process.env.AZURE_STORAGE_CONNECTION_STRING;
    process.env.AZURE_STORAGE_CONNECTION_STRING = connectionString("emu");
    try {
      const system = await createAzureSystem(address, {});
      expect(system.id).toBe("azure:emu@127.0.0.1:1");
      expect(system.semantics).toMatchObject({ atomicWrite: true, conditionalWrite: true, directories: false, checksums: ["md5"] });
      expect([canWrite(system), has(system, "readRange"), has(system, "copy"), has(system, "exec")]).toEqual([true, true, true, false]);
      expect(() => need(system, "exec")).toThrow(expect.objectContaining({ code: "Unsupported" }));
    } finally {
      process.env.AZURE_STORAGE_CONNECTION_STRING = saved;
    }
  });
});

describe("azure: error codes", () => {
  const codeOf = (error: unknown) => toStowageError(error, { system: "azure", operation: "test" }, mapAzureError);
  const rest = (statusCode: number, code?: string) => new RestError("boom\nRequestId:1", { statusCode, ...(code ? { code } : {}) });

  it.each([
    [404, "BlobNotFound", "NotFound"],
    [404, "ContainerNotFound", "NotFound"],
    [404, undefined, "NotFound"], // HEAD: no body, no code
    [403, "AuthenticationFailed", "PermissionDenied"],
    [403, "AuthorizationPermissionMismatch", "PermissionDenied"],
    [401, undefined, "PermissionDenied"],
    [409, "BlobAlreadyExists", "AlreadyExists"],
    [412, "ConditionNotMet", "AlreadyExists"],
    [409, "LeaseIdMissing", "Conflict"],
    [412, "LeaseIdMissing", "Conflict"],
    [409, "ContainerBeingDeleted", "Conflict"],
    [503, "ServerBusy", "RateLimited"],
    [429, undefined, "RateLimited"],
    [500, "OperationTimedOut", "Timeout"],
    [500, "InternalError", "Unavailable"],
    [503, undefined, "Unavailable"],
    [416, "InvalidRange", "InvalidInput"],
    [400, "InvalidResourceName", "InvalidInput"],
  ])("HTTP %i %s → %s", (status, code, expected) => {
    const error = codeOf(rest(status, code));
    expect(error.code).toBe(expected);
  });

  it("retries what can pass: throttling, outages, a container being deleted", () => {
    expect(codeOf(rest(503, "ServerBusy")).retryable).toBe(true);
    expect(codeOf(rest(500)).retryable).toBe(true);
    expect(codeOf(rest(409, "ContainerBeingDeleted")).retryable).toBe(true);
    expect(codeOf(rest(409, "BlobAlreadyExists")).retryable).toBe(false);
  });

  it("maps socket failures and identity failures", () => {
    expect(codeOf(new RestError("connect ECONNREFUSED", { code: "ECONNREFUSED" })).code).toBe("Unavailable");
    expect(codeOf(new RestError("socket hang up", { code: "REQUEST_SEND_ERROR" })).code).toBe("Unavailable");
    expect(codeOf(new CredentialUnavailableError("no login found")).code).toBe("PermissionDenied");
    expect(codeOf(new AuthenticationError(401, { error: "invalid_client", error_description: "bad secret" })).code).toBe("PermissionDenied");
  });
});
