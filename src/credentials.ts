/**
 * Explicit credentials a caller hands to one resource, for when the provider's own chain is not the
 * way (a second AWS account, a SAS token from a web app). They ride along with the address in memory
 * only: a `Credentials` value has no enumerable fields, serialises to nothing (`toJSON` is
 * undefined, so `JSON.stringify` drops the property), prints as "[credentials]", and the name
 * registry saves an allowlist of address fields that never includes it.
 */
import { createHash } from "node:crypto";
import { inspect } from "node:util";
import { StowageError } from "./errors.js";

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface AzureCredentials {
  /** A full connection string (its account and key or SAS). */
  connectionString?: string;
  /** The account's shared key, with the account from the address or config. */
  accountKey?: string;
  /** A SAS token (with or without the leading "?"). */
  sasToken?: string;
}

export interface GsCredentials {
  /** A service account's email and PEM private key, as in its JSON key file. */
  clientEmail: string;
  privateKey: string;
}

export interface SshCredentials {
  /** A private key in OpenSSH or PEM form, tried before the agent and key files. */
  privateKey?: string | Buffer;
  passphrase?: string;
  password?: string;
}

export type CredentialsInput = S3Credentials | AzureCredentials | GsCredentials | SshCredentials;

const FIELDS: Record<string, readonly string[]> = {
  s3: ["accessKeyId", "secretAccessKey", "sessionToken"],
  azure: ["connectionString", "accountKey", "sasToken"],
  gs: ["clientEmail", "privateKey"],
  ssh: ["privateKey", "passphrase", "password"],
};

export class Credentials {
  readonly #values: Readonly<Record<string, string | Buffer>>;
  readonly #key: string;

  private constructor(values: Record<string, string | Buffer>) {
    this.#values = Object.freeze({ ...values });
    // Connections are shared per credentials: a digest tells two sets apart without keeping them as a key.
    const digest = createHash("sha256");
    for (const [field, value] of Object.entries(values).sort(([a], [b]) => (a < b ? -1 : 1))) digest.update(`${field}\0`).update(value).update("\0");
    this.#key = digest.digest("hex").slice(0, 16);
  }

  /** Checks the fields against what `system` takes; an unknown or empty field is `InvalidInput`. */
  static for(system: string, input: unknown): Credentials {
    if (input instanceof Credentials) return input;
    const fields = FIELDS[system];
    if (!fields) throw new StowageError({ code: "InvalidInput", system, message: `${system} takes no explicit credentials` });
    if (typeof input !== "object" || input === null || Array.isArray(input)) {
      throw new StowageError({ code: "InvalidInput", system, message: "credentials must be an object" });
    }
    const values: Record<string, string | Buffer> = {};
    for (const [field, value] of Object.entries(input)) {
      if (value === undefined) continue;
      if (!fields.includes(field)) {
        throw new StowageError({ code: "InvalidInput", system, message: `unknown ${system} credential "${field}"; known: ${fields.join(", ")}` });
      }
      if (!(typeof value === "string" || Buffer.isBuffer(value)) || value.length === 0) {
        throw new StowageError({ code: "InvalidInput", system, message: `${system} credential "${field}" must be a non-empty string` });
      }
      values[field] = value;
    }
    if (Object.keys(values).length === 0) throw new StowageError({ code: "InvalidInput", system, message: `empty ${system} credentials` });
    if (system === "s3" && !(values.accessKeyId && values.secretAccessKey)) {
      throw new StowageError({ code: "InvalidInput", system, message: "s3 credentials need accessKeyId and secretAccessKey" });
    }
    if (system === "gs" && !(values.clientEmail && values.privateKey)) {
      throw new StowageError({ code: "InvalidInput", system, message: "gs credentials need clientEmail and privateKey" });
    }
    return new Credentials(values);
  }

  /** Identifies these credentials among open connections (a digest, never the values). */
  get key(): string {
    return this.#key;
  }

  /** The values, for the one system that authenticates with them. */
  reveal(): Readonly<Record<string, string | Buffer>> {
    return this.#values;
  }

  toJSON(): undefined {
    return undefined;
  }

  toString(): string {
    return "[credentials]";
  }

  [inspect.custom](): string {
    return "[credentials]";
  }
}

/** A credential field as a string, when present. */
export function credential(credentials: Credentials | undefined, field: string): string | undefined {
  const value = credentials?.reveal()[field];
  return value === undefined ? undefined : value.toString();
}
