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

/** The fields a system's `credentials` option takes, declared by the system's descriptor. */
export interface CredentialFields {
  /** Every field it knows. */
  readonly fields: readonly string[];
  /** Fields that must all be present (an S3 key is nothing without its secret). */
  readonly required?: readonly string[];
}

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

  /**
   * Checks `input` against the fields `system` declares (`undefined`: it takes no credentials); an
   * unknown, empty or missing required field is `InvalidInput`.
   */
  static for(system: string, accepted: CredentialFields | undefined, input: unknown): Credentials {
    if (input instanceof Credentials) return input;
    if (!accepted) throw new StowageError({ code: "InvalidInput", system, message: `${system} takes no explicit credentials` });
    if (typeof input !== "object" || input === null || Array.isArray(input)) {
      throw new StowageError({ code: "InvalidInput", system, message: "credentials must be an object" });
    }
    const values: Record<string, string | Buffer> = {};
    for (const [field, value] of Object.entries(input)) {
      if (value === undefined) continue;
      if (!accepted.fields.includes(field)) {
        throw new StowageError({ code: "InvalidInput", system, message: `unknown ${system} credential "${field}"; known: ${accepted.fields.join(", ")}` });
      }
      if (!(typeof value === "string" || Buffer.isBuffer(value)) || value.length === 0) {
        throw new StowageError({ code: "InvalidInput", system, message: `${system} credential "${field}" must be a non-empty string` });
      }
      values[field] = value;
    }
    if (Object.keys(values).length === 0) throw new StowageError({ code: "InvalidInput", system, message: `empty ${system} credentials` });
    const missing = (accepted.required ?? []).filter((field) => values[field] === undefined);
    if (missing.length > 0) {
      throw new StowageError({ code: "InvalidInput", system, message: `${system} credentials need ${accepted.required!.join(" and ")}` });
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
