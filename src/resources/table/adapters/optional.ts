/** Loads an optional library on first use; a missing one is an error saying what to install. */
import { StowageError } from "../../../errors.js";

export async function loadOptional<T>(name: string, install: string, purpose: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (error) {
    throw new StowageError({
      code: "Unsupported",
      operation: purpose,
      message: `${purpose} needs the optional package "${name}"; install it with: npm install ${install}`,
      cause: error,
    });
  }
}
