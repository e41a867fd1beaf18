/** Git's tree and commit objects, read from their raw bytes. */
import { GitProtocolError } from "./errors.js";

/** What a tree entry's mode means: 040000 tree, 100644/100755 file, 120000 symlink, 160000 submodule. */
export type TreeEntryKind = "directory" | "file" | "symlink" | "submodule";

export interface TreeEntry {
  name: string;
  mode: string;
  kind: TreeEntryKind;
  /** Object id: a tree, a blob, or (submodules) a commit in another repository. */
  id: string;
}

function kindOf(mode: string): TreeEntryKind {
  switch (mode) {
    case "40000":
      return "directory";
    case "120000":
      return "symlink";
    case "160000":
      return "submodule";
    default:
      if (mode.startsWith("100")) return "file";
      throw new GitProtocolError(`unknown tree entry mode ${mode}`);
  }
}

/** Entries are "<mode> <name>\0<20-byte id>", back to back. */
export function parseTree(data: Buffer): TreeEntry[] {
  const entries: TreeEntry[] = [];
  let p = 0;
  while (p < data.length) {
    const space = data.indexOf(0x20, p);
    const nul = data.indexOf(0, space + 1);
    if (space < 0 || nul < 0 || nul + 21 > data.length) throw new GitProtocolError("malformed tree object");
    const mode = data.toString("latin1", p, space);
    entries.push({ mode, kind: kindOf(mode), name: data.toString("utf8", space + 1, nul), id: data.toString("hex", nul + 1, nul + 21) });
    p = nul + 21;
  }
  return entries;
}

/** A commit's root tree id: its first header line is "tree <id>". */
export function commitTree(data: Buffer): string {
  const match = /^tree ([0-9a-f]{40})\n/.exec(data.toString("latin1", 0, 46));
  if (!match) throw new GitProtocolError("malformed commit object");
  return match[1]!;
}
