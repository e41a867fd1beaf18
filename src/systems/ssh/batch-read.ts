/**
 * Batch downloads of small files. A file per SFTP read costs four requests (open, fstat, read,
 * close) that sftp-server answers one at a time. A batch instead asks a shell loop on the host to
 * pack the files into one tar archive in the host's temp directory (`tar -h`: symlinks followed,
 * as a read follows them); the archive then comes back in one pipelined SFTP read and is removed.
 * The source directory is never written to, so read-only datasets batch too.
 */
import { StowageError } from "../../errors.js";
import type { CommandLoop } from "./command-loop.js";

/** Archives of this name in the host's temp directory are Stowage's; see ORPHANED_PACKS. */
export const PACK_PREFIX = ".stowage-pack.";

/**
 * Run as a pack loop starts: removes this user's archives in the temp directory untouched for over
 * a day (1440 minutes), left by a process killed between packing and reading back; a batch being
 * read is minutes old at most. find's -maxdepth, -mmin and a numeric -user work alike in GNU, BSD
 * and BusyBox find; the trailing slash follows a temp directory that is a symlink (macOS's /tmp).
 * A host without find or id, or where it fails, keeps them: the loop goes on either way.
 */
export const ORPHANED_PACKS = `find "\${TMPDIR:-/tmp}/" -maxdepth 1 -type f -name '${PACK_PREFIX}*' -user "$(id -u)" -mmin +1440 -exec rm -f -- {} + </dev/null >/dev/null 2>&1;`;

/**
 * The loop that packs batches. A request is the directory, the member count, then one member name
 * per line (relative to the directory); the answer is tar's exit status and the archive's path.
 * Names go to tar as arguments after `--`, never through a file list, which GNU tar would scan for
 * options. GNU tar also unquotes names ("a\\nb" would mean a newline), so it gets --no-unquote;
 * other tars (bsdtar, BusyBox) take names as they are and do not know that option.
 */
export const PACK_LOOP = [
  ORPHANED_PACKS,
  `unquote=; tar --version 2>/dev/null | grep -q GNU && unquote=--no-unquote;`,
  `while IFS= read -r dir && IFS= read -r count; do`,
  `set --; i=0;`,
  `while [ "$i" -lt "$count" ] && IFS= read -r name; do set -- "$@" "$name"; i=$((i+1)); done;`,
  `archive=$(mktemp "\${TMPDIR:-/tmp}/${PACK_PREFIX}XXXXXXXX" 2>/dev/null) || { echo 126; continue; };`,
  `tar -c -h $unquote -f "$archive" -C "$dir" -- "$@" 2>/dev/null; status=$?;`,
  // Past 2 there is no archive to read back, and nobody else would remove the empty file.
  `case $status in 0|1|2) ;; *) rm -f -- "$archive";; esac;`,
  `printf '%s %s\\n' "$status" "$archive";`,
  `done`,
].join(" ");

/**
 * Packs `names` (relative to `dir` on the host) into a new archive and answers its path on the host.
 * tar's exit status 1 (a file changed while read) and 2 (a file could not be read) still leave an
 * archive of the others: the caller checks each member. The host lacking tar or mktemp (126, 127)
 * is `Unsupported`; any other failure `Unexpected`.
 */
export async function pack(loop: CommandLoop, dir: string, names: readonly string[]): Promise<string> {
  const { status, message } = await loop.request([dir, String(names.length), ...names], dir);
  if ((status === 0 || status === 1 || status === 2) && message !== "") return message;
  throw new StowageError({
    code: status === 126 || status === 127 ? "Unsupported" : "Unexpected",
    system: "ssh",
    operation: "read",
    path: dir,
    message: `packing a batch of ${names.length} files on the host failed (exit ${status})`,
  });
}
