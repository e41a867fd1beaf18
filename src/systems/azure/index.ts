/** Azure Blob Storage: `az://<container>/<blob name>`; the account from the address, config or environment. */
import type { SystemDescriptor } from "../descriptor.js";
import { bucketAddress, bucketDefaultPath } from "../object-store.js";

export interface AzureConfig {
  account: string;
  endpoint: string;
  /** Where resources created without a path go. */
  container: string;
}

export const descriptor: SystemDescriptor = {
  name: "azure",
  schemes: ["az", "azure"],
  packages: ["@azure/storage-blob"],
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
