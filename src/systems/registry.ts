/**
 * Maps an address to a live System. Each system's module (and with it its provider SDK) is imported
 * only when an address of that system is first opened, so using only local files loads no SDK.
 * Systems are cached per connection (one SSH session per host, one S3 client per endpoint).
 */
import type { Address } from "../address.js";
import { loadConfig, type StowageConfig } from "../config.js";
import { StowageError } from "../errors.js";
import type { System, SystemName } from "./contract.js";

export type SystemFactory = (address: Address, config: StowageConfig) => System | Promise<System>;

const LOADERS: Record<SystemName, () => Promise<SystemFactory>> = {
  file: async () => (await import("./file.js")).createFileSystem,
  ssh: async () => (await import("./ssh/index.js")).createSshSystem,
  s3: async () => {
    // AWS SDK releases for Node 20 print a notice about future releases on every start; it is not
    // the user's to act on. Setting the variable to "false" brings it back.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    return (await import("./s3/index.js")).createS3System;
  },
  gs: async () => (await import("./gs/index.js")).createGsSystem,
  azure: async () => (await import("./azure/index.js")).createAzureSystem,
  github: async () => (await import("./github/index.js")).createGithubSystem,
};

/** The provider packages behind each system, named in the error when one cannot be loaded. */
const PACKAGES: Record<SystemName, string> = {
  file: "",
  ssh: "ssh2",
  s3: "@aws-sdk/client-s3",
  gs: "@google-cloud/storage",
  azure: "@azure/storage-blob",
  github: "",
};

/** The part of an address that selects a connection; the path is not part of it. */
export function connectionKey(address: Address): string {
  const base = systemKey(address);
  return address.credentials ? `${base}#${address.credentials.key}` : base;
}

function systemKey(address: Address): string {
  switch (address.system) {
    case "ssh":
      return `ssh:${address.user ?? ""}@${address.host}:${address.port ?? ""}`;
    case "azure":
      return `azure:${address.account ?? ""}`;
    case "github":
      return `github:${address.server ?? ""}`;
    default:
      return address.system;
  }
}

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
  let factory: SystemFactory;
  try {
    factory = await LOADERS[address.system]();
  } catch (error) {
    throw new StowageError({
      code: "Unsupported",
      system: address.system,
      operation: "load",
      message: `cannot load the ${address.system} system; install ${PACKAGES[address.system]}`,
      cause: error,
    });
  }
  return factory(address, config);
}

/** The registry behind the public API. */
export const systems = new SystemRegistry();
