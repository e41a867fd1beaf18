/**
 * The resume journal: one line per finished file of a transfer, kept under the cache directory
 * and keyed by source and destination. A re-run of an interrupted transfer skips what the journal
 * says is done (when the source file is unchanged and the destination still holds it); a transfer
 * that finishes without failures deletes its journal.
 */
import { createHash } from "node:crypto";
import { appendFile, mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { cacheDir } from "../config.js";

export interface JournalEntry {
  path: string;
  size: number;
  /** Source mtime in ms, when the source has one. */
  mtime?: number;
}

export class Journal {
  readonly #file: string;
  readonly #done = new Map<string, JournalEntry>();
  #directory: Promise<unknown> | undefined;

  private constructor(file: string) {
    this.#file = file;
  }

  static async open(source: string, destination: string): Promise<Journal> {
    const id = createHash("sha256").update(`${source}\n${destination}`).digest("hex").slice(0, 32);
    const journal = new Journal(join(cacheDir(), "transfers", `${id}.jsonl`));
    const text = await readFile(journal.#file, "utf8").catch(() => "");
    for (const line of text.split("\n")) {
      if (!line) continue;
      try {
        const entry = JSON.parse(line) as JournalEntry;
        journal.#done.set(entry.path, entry);
      } catch {
        // A line cut short by a crash is simply not counted as done.
      }
    }
    return journal;
  }

  /** Whether `path` was finished by an earlier run and its source is unchanged since. */
  finished(path: string, size: number, mtime: number | undefined): boolean {
    const entry = this.#done.get(path);
    return entry !== undefined && entry.size === size && entry.mtime === mtime;
  }

  async record(entry: JournalEntry): Promise<void> {
    await (this.#directory ??= mkdir(join(this.#file, ".."), { recursive: true }));
    await appendFile(this.#file, `${JSON.stringify(entry)}\n`);
  }

  async remove(): Promise<void> {
    await rm(this.#file, { force: true });
  }
}
