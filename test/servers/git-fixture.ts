/**
 * Builds bare git repositories fast with `git fast-import` (one process, one pack, no work tree),
 * so the 1,100-file seed tree and a 48 MiB blob take a few seconds at most.
 */
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";

/** One commit: files to add or replace, paths to delete, on `branch`. */
export interface FixtureCommit {
  branch: string;
  message: string;
  files?: Iterable<[string, Buffer]>;
  /** Symlinks: path → target. */
  symlinks?: Iterable<[string, string]>;
  /** Submodules (gitlinks): path → commit id in another repository. */
  submodules?: Iterable<[string, string]>;
  deletes?: Iterable<string>;
  /** Start from this earlier commit (its index in the list) instead of the branch's tip. */
  from?: number;
  /** Annotated tag on this commit. */
  tag?: string;
}

const IDENTITY = "Stowage Test <test@stowage.invalid>";
const EPOCH = 1_704_067_200; // 2024-01-01, fixed so object ids are reproducible

/** Runs git, failing with its stderr; a missing git binary names the package to install. */
export function git(args: string[], options: { input?: Buffer; binary?: boolean } = {}): string {
  const result = spawnSync("git", args, { input: options.input, maxBuffer: 1 << 30 });
  if (result.error) {
    const missing = (result.error as NodeJS.ErrnoException).code === "ENOENT";
    throw new Error(missing ? "git not found: install Debian's `git` package (npm run setup:test)" : `git ${args[0]}: ${result.error.message}`);
  }
  if (result.status !== 0) throw new Error(`git ${args.join(" ")} failed: ${result.stderr.toString().trim()}`);
  // `binary`: latin1 maps each byte to one char, so Buffer.from(text, "latin1") restores the bytes.
  return result.stdout.toString(options.binary ? "latin1" : "utf8");
}

/** Creates (or adds to) the bare repository `gitDir` with `commits`, in order. */
export async function buildRepository(gitDir: string, commits: readonly FixtureCommit[], config: Record<string, string> = {}): Promise<void> {
  mkdirSync(dirname(gitDir), { recursive: true });
  git(["init", "--quiet", "--bare", "--initial-branch=main", gitDir]);
  for (const [key, value] of Object.entries(config)) git(["--git-dir", gitDir, "config", key, value]);
  const importer = spawn("git", ["--git-dir", gitDir, "-c", "pack.compression=1", "fast-import", "--quiet"], {
    stdio: ["pipe", "ignore", "pipe"],
  });
  let stderr = "";
  importer.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(importer, "close");
  const write = async (data: string | Buffer) => {
    if (!importer.stdin.write(data)) await once(importer.stdin, "drain");
  };
  let mark = 0;
  const commitMarks: number[] = [];
  for (const [index, commit] of commits.entries()) {
    const lines: string[] = [];
    for (const [path, content] of commit.files ?? []) {
      await write(`blob\nmark :${++mark}\ndata ${content.length}\n`);
      await write(content);
      await write("\n");
      lines.push(`M 100644 :${mark} ${path}`);
    }
    for (const [path, target] of commit.symlinks ?? []) {
      await write(`blob\nmark :${++mark}\ndata ${Buffer.byteLength(target)}\n${target}\n`);
      lines.push(`M 120000 :${mark} ${path}`);
    }
    for (const [path, id] of commit.submodules ?? []) lines.push(`M 160000 ${id} ${path}`);
    for (const path of commit.deletes ?? []) lines.push(`D ${path}`);
    const from = commit.from === undefined ? "" : `from :${commitMarks[commit.from]}\n`;
    const stamp = `${EPOCH + index * 60} +0000`;
    await write(
      `commit refs/heads/${commit.branch}\nmark :${++mark}\ncommitter ${IDENTITY} ${stamp}\n` +
        `data ${Buffer.byteLength(commit.message)}\n${commit.message}\n${from}${lines.join("\n")}\n\n`,
    );
    commitMarks.push(mark);
    if (commit.tag) {
      const message = `release ${commit.tag}`;
      await write(`tag ${commit.tag}\nfrom :${mark}\ntagger ${IDENTITY} ${stamp}\ndata ${message.length}\n${message}\n`);
    }
  }
  importer.stdin.end();
  const [code] = await exited;
  if (code !== 0) throw new Error(`git fast-import failed (${code}): ${stderr.trim()}`);
}
