/**
 * What a host offers for streaming files over exec channels, asked once per connection. It is asked
 * as the connection opens, beside the first SFTP channel: each exec channel starts the login shell,
 * and where an rc file sets up pyenv or conda that start takes 100-300 ms, which would otherwise
 * come before the first byte of the first transfer.
 */
import type { Client } from "ssh2";
import { runCommand } from "./exec.js";

/** POSIX `cksum` of the one byte "x": a host's cksum that prints this computes what range-checksum.ts does. */
const CKSUM_OF_X = "12738659 1";

/**
 * Prints `posix-42` only where commands run in a POSIX shell that has `cat`, then ` dd` if it has
 * dd, then ` cksum` if its cksum is POSIX's (range writes checksum what they wrote with it,
 * ./exec-upload.ts).
 */
const PROBE = [
  `command -v cat >/dev/null && printf 'posix-%s' "$((6*7))"`,
  `if command -v dd >/dev/null; then printf ' dd'; fi`,
  `if [ "$(printf x | cksum 2>/dev/null)" = '${CKSUM_OF_X}' ]; then printf ' cksum'; fi`,
].join(" && ");

/** The host's tools for streaming files over exec channels. */
export interface HostTools {
  /** A POSIX shell with `cat`: whole files stream through it. */
  cat: boolean;
  /** `dd` too: ranges of a file can be written at their offsets. */
  dd: boolean;
  /** POSIX `cksum`: each range written is checksummed on the host as soon as it is written. */
  cksum: boolean;
}

/**
 * Whether the host runs commands in a POSIX shell with `cat` (and `dd`, `cksum`). cmd.exe,
 * PowerShell, fish or an sftp-only account (ForceCommand internal-sftp) print something else or
 * fail, and keep SFTP. Whatever a shell rc file prints comes first, so only the end of the output
 * counts.
 */
export async function hostTools(client: Client): Promise<HostTools> {
  try {
    const result = await runCommand(client, PROBE);
    const output = result.stdout.toString("utf8");
    const at = output.lastIndexOf("posix-42");
    if (result.code !== 0 || at < 0) return { cat: false, dd: false, cksum: false };
    const words = output.slice(at).split(" ");
    if (words.some((word, index) => index > 0 && word !== "dd" && word !== "cksum")) return { cat: false, dd: false, cksum: false };
    return { cat: true, dd: words.includes("dd"), cksum: words.includes("cksum") };
  } catch {
    return { cat: false, dd: false, cksum: false };
  }
}
