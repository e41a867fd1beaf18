/**
 * Which account and credential to use, in Azure's own conventions: a connection string first
 * (it may name its own BlobEndpoint, as Azurite's does), then account + key, then a SAS token,
 * then DefaultAzureCredential (managed identity, Azure CLI login, workload identity, ...).
 */
import { AnonymousCredential, BlobServiceClient, StorageSharedKeyCredential, type StoragePipelineOptions } from "@azure/storage-blob";
import type { Address } from "../../address.js";
import type { StowageConfig } from "../../config.js";
import { sectionOf } from "../descriptor.js";
import type { AzureConfig } from "./index.js";
import { credential, type Credentials } from "../../credentials.js";
import { StowageError } from "../../errors.js";

/** How requests are signed; decides how a copy source can be authorized. */
export type AzureAuth = "sharedKey" | "sas" | "token";

export interface AzureConnection {
  service: BlobServiceClient;
  account: string;
  auth: AzureAuth;
}

const PIPELINE_OPTIONS: StoragePipelineOptions = {
  userAgentOptions: { userAgentPrefix: "stowage" },
};

export async function connectAzure(address: Address, config: StowageConfig, processEnv: NodeJS.ProcessEnv = process.env): Promise<AzureConnection> {
  const env = address.credentials ? explicitEnv(address.credentials, processEnv) : processEnv;
  const requested = address.account ?? sectionOf<AzureConfig>(config, "azure").account ?? env.STOWAGE_AZURE_ACCOUNT;
  const connectionString = env.AZURE_STORAGE_CONNECTION_STRING;
  if (connectionString) {
    const service = BlobServiceClient.fromConnectionString(connectionString, PIPELINE_OPTIONS);
    // A connection string for another account than the one asked for is not used.
    if (!requested || requested === service.accountName) {
      return { service, account: service.accountName, auth: service.credential instanceof StorageSharedKeyCredential ? "sharedKey" : "sas" };
    }
  }
  const account = requested ?? env.AZURE_STORAGE_ACCOUNT;
  if (!account) {
    throw new StowageError({
      code: "InvalidInput",
      system: "azure",
      operation: "connect",
      message:
        "no Azure storage account: set AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT (with AZURE_STORAGE_KEY, " +
        "AZURE_STORAGE_SAS_TOKEN or an Azure login), or STOWAGE_AZURE_ACCOUNT, or write az://container/key with { account }",
    });
  }
  const endpoint = (sectionOf<AzureConfig>(config, "azure").endpoint ?? `https://${account}.blob.core.windows.net`).replace(/\/+$/, "");
  if (env.AZURE_STORAGE_KEY) {
    const credential = new StorageSharedKeyCredential(account, env.AZURE_STORAGE_KEY);
    return { service: new BlobServiceClient(endpoint, credential, PIPELINE_OPTIONS), account, auth: "sharedKey" };
  }
  if (env.AZURE_STORAGE_SAS_TOKEN) {
    const sas = env.AZURE_STORAGE_SAS_TOKEN.replace(/^\?/, "");
    return { service: new BlobServiceClient(`${endpoint}?${sas}`, new AnonymousCredential(), PIPELINE_OPTIONS), account, auth: "sas" };
  }
  // Loaded only here: @azure/identity is large and most users of a key never need it.
  const { DefaultAzureCredential } = await import("@azure/identity");
  return { service: new BlobServiceClient(endpoint, new DefaultAzureCredential(), PIPELINE_OPTIONS), account, auth: "token" };
}

/** Explicit credentials take the place of every credential variable (never mixed with them). */
function explicitEnv(credentials: Credentials, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const view: NodeJS.ProcessEnv = {};
  if (env.AZURE_STORAGE_ACCOUNT) view.AZURE_STORAGE_ACCOUNT = env.AZURE_STORAGE_ACCOUNT;
  if (env.STOWAGE_AZURE_ACCOUNT) view.STOWAGE_AZURE_ACCOUNT = env.STOWAGE_AZURE_ACCOUNT;
  view.AZURE_STORAGE_CONNECTION_STRING = credential(credentials, "connectionString");
  view.AZURE_STORAGE_KEY = credential(credentials, "accountKey");
  view.AZURE_STORAGE_SAS_TOKEN = credential(credentials, "sasToken");
  return view;
}
