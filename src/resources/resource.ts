/** What every stored resource has: an address, its URL and name, and the system serving it. */
import { formatAddress, type Address } from "../address.js";
import type { System } from "../systems/contract.js";
import { baseName } from "../systems/paths.js";
import { systems } from "../systems/registry.js";

export abstract class Resource {
  readonly address: Address;

  constructor(address: Address) {
    this.address = address;
  }

  get url(): string {
    return formatAddress(this.address);
  }

  get path(): string {
    return this.address.path;
  }

  get name(): string {
    return baseName(this.address.path);
  }

  protected system(): Promise<System> {
    return systems.open(this.address);
  }
}
