/** Azure Blob Storage: `az://<container>/<blob name>`, loaded by the registry on first use. */
import type { Address } from "../../address.js";
import type { StowageConfig } from "../../config.js";
import { connectAzure } from "./credentials.js";
import { AzureSystem } from "./system.js";

export async function createAzureSystem(address: Address, config: StowageConfig): Promise<AzureSystem> {
  return new AzureSystem(await connectAzure(address, config), address.credentials?.key);
}
