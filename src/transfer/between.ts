/** A transfer between two addresses: both systems opened from the shared registry, then the engine. */
import { type Address } from "../address.js";
import { formatAddress } from "../systems/addresses.js";
import { systems } from "../systems/registry.js";
import { transfer } from "./engine.js";
import type { TransferOptions, TransferReport } from "./types.js";

export async function transferBetween(source: Address, destination: Address, options: TransferOptions): Promise<TransferReport> {
  const [from, to] = await Promise.all([systems.open(source), systems.open(destination)]);
  return transfer(
    { system: from, path: source.path, url: formatAddress(source) },
    { system: to, path: destination.path, url: formatAddress(destination) },
    options,
  );
}
