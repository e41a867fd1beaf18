/** Where a table lives: an open system and the absolute path of the table's root in it. */
import { formatAddress, parseAddress } from "../../systems/addresses.js";
import type { System } from "../../systems/contract.js";
import { normalizePath } from "../../systems/paths.js";
import { systems } from "../../systems/registry.js";
import type { TableLocation } from "./types.js";

export interface ResolvedLocation {
  system: System;
  root: string;
  /** The address as a URL, for messages and `Table.path`. */
  url: string;
}

function isOpenSystem(location: TableLocation): location is { system: System; path: string } {
  return typeof location === "object" && location !== null && !(location instanceof URL) && typeof (location as { system: unknown }).system === "object";
}

export async function resolveLocation(location: TableLocation): Promise<ResolvedLocation> {
  if (isOpenSystem(location)) {
    const root = normalizePath(location.path);
    return { system: location.system, root, url: `${location.system.id}${root}` };
  }
  const address = parseAddress(location);
  return { system: await systems.open(address), root: address.path, url: formatAddress(address) };
}
