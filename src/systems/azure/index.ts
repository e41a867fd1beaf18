/** Azure Blob Storage: `az://<container>/<blob name>`; the account from the address, config or environment. */
import type { SystemDescriptor } from "../descriptor.js";
import { variable, type SetupFound } from "../sources.js";

import { bucketAddress, bucketDefaultPath } from "../object-store.js";

export interface AzureConfig {
  account: string;
  endpoint: string;
  /** Where resources created without a path go. */
  container: string;
}

/** Explicit Azure credentials: one of a connection string, the account's key, or a SAS token. */
export interface AzureCredentials {
  /** A full connection string (its account and key or SAS). */
  connectionString?: string;
  /** The account's shared key, with the account from the address or config. */
  accountKey?: string;
  /** A SAS token (with or without the leading "?"). */
  sasToken?: string;
}

export const descriptor: SystemDescriptor = {
  name: "azure",
  schemes: ["az", "azure"],
  packages: ["@azure/storage-blob"],
  credentials: { fields: ["connectionString", "accountKey", "sasToken"] },
  addressOptions: ["account"],
  setup: (context) => {
    const found: SetupFound = {
      sources: [
        ...["AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN", "AZURE_CLIENT_ID"].flatMap((name) =>
          variable(context, name),
        ),
        ...(context.config.azure?.account ? ["config azure.account"] : []),
      ],
    };
    if (context.config.azure?.container) found.probe = `az://${String(context.config.azure.container)}`;
    return found;
  },
  config: {
    account: { env: "STOWAGE_AZURE_ACCOUNT", type: "string" },
    endpoint: { type: "string" },
    container: { env: "STOWAGE_AZURE_CONTAINER", type: "string" },
  },
  load: async () => (await import("./system.js")).createAzureSystem,
  parseUrl: (rest, context) => bucketAddress("azure", "container", rest, context),
  normalize: (address) => address,
  format: (address) => `az://${address.path.slice(1)}`,
  connectionKey: (address) => `azure:${address.account ?? ""}`,
  defaultPath: (kind, name, config) => bucketDefaultPath("azure", "container", "STOWAGE_AZURE_CONTAINER", kind, name, config),
};
