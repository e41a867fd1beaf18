/**
 * What a host offers for streaming files over exec channels, asked once per connection. It is asked
 * as the connection opens, beside the first SFTP channel: each exec channel starts the login shell,
 * and where an rc file sets up pyenv or conda that start takes 100-300 ms, which would otherwise
 * come before the first byte of the first transfer.
 */
import type { Client } from "ssh2";
import { runCommand } from "./exec.js";

/** Prints `posix-42` only where commands run in a POSIX shell that has `cat`, then ` dd` if it has dd. */
const PROBE = `command -v cat >/dev/null && printf 'posix-%s' "$((6*7))" && if command -v dd >/dev/null; then printf ' dd'; fi`;

/** The host's tools for streaming files over exec channels. */
export interface HostTools {
  /** A POSIX shell with `cat`: whole files stream through it. */
  cat: boolean;
  /** `dd` too: ranges of a file can be written at their offsets. */
  dd: boolean;
}

/**
 * Whether the host runs commands in a POSIX shell with `cat` (and `dd`). cmd.exe, PowerShell, fish
 * or an sftp-only account (ForceCommand internal-sftp) print something else or fail, and keep SFTP.
 * Whatever a shell rc file prints comes first, so only the end of the output counts.
 */
export async function hostTools(client: Client): Promise<HostTools> {
  try {
    const result = await runCommand(client, PROBE);
    const output = result.stdout.toString("utf8");
    const dd = result.code === 0 && output.endsWith("posix-42 dd");
    return { cat: dd || (result.code === 0 && output.endsWith("posix-42")), dd };
  } catch {
    return { cat: false, dd: false };
  }
}
