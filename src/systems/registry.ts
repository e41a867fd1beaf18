/**
 * Maps an address to a live System. Each system's implementation (and with it its provider SDK) is
 * imported only when an address of that system is first opened, so using only local files loads no
 * SDK. Systems are cached per connection (one SSH session per host, one S3 client per endpoint).
 */
import type { Address } from "../address.js";
import type { StowageConfig } from "../config.js";
import { StowageError } from "../errors.js";
import { connectionKey, descriptorOf } from "./addresses.js";
import { loadConfig } from "./config.js";
import type { System } from "./contract.js";
import type { SystemFactory } from "./descriptor.js";

export type { SystemFactory } from "./descriptor.js";
export { connectionKey } from "./addresses.js";

export class SystemRegistry {
  readonly #open = new Map<string, Promise<System>>();
  readonly #config: () => StowageConfig;

  constructor(config: () => StowageConfig = () => loadConfig()) {
    this.#config = config;
  }

  /** The system serving `address`, created on first use and shared afterwards. */
  open(address: Address): Promise<System> {
    const key = connectionKey(address);
    let system = this.#open.get(key);
    if (!system) {
      system = createSystem(address, this.#config());
      this.#open.set(key, system);
      // A failed connection is not cached, so the next call tries again.
      system.catch(() => this.#open.delete(key));
    }
    return system;
  }

  /** Closes every open connection. */
  async closeAll(): Promise<void> {
    const systems = [...this.#open.values()];
    this.#open.clear();
    await Promise.allSettled(systems.map(async (system) => (await system).close()));
  }
}

async function createSystem(address: Address, config: StowageConfig): Promise<System> {
  const descriptor = descriptorOf(address.system);
  let factory: SystemFactory;
  try {
    factory = await descriptor.load();
  } catch (error) {
    throw new StowageError({
      code: "Unsupported",
      system: address.system,
      operation: "load",
      message: `cannot load the ${address.system} system; install ${descriptor.packages.join(" and ")}`,
      cause: error,
    });
  }
  return factory(address, config);
}

/** The registry behind the public API. */
export const systems = new SystemRegistry();
