/**
 * github: a read-only view of a git repository at a ref, over git's smart-HTTP protocol v2 (what
 * github.com and `git http-backend` serve). Paths are "/owner/repo@ref/path"; without "@ref" the
 * default branch. Only the commit's trees are fetched (no blobs, no history), then each blob on
 * demand by id, streamed and inflated as it arrives.
 *
 * Choices:
 * - Directories are git trees, so `directories: true`; a submodule (mode 160000) shows as an empty
 *   directory (its content lives in another repository, as in a non-recursive clone); a symlink
 *   (120000) is a file holding its target path, as git stores it.
 * - Sizes: `stat`, one-level and recursive `list` report real sizes, from the protocol's
 *   `object-info` command when the server offers it (one request per 1,000 files), else from each
 *   blob's pack entry header (one short request per file, cached). github.com does not offer
 *   `object-info`, so listing many files there costs one request per uncached file.
 * - `etag` is the git object id (blob or tree), which changes exactly when the content does.
 * - "/" and "/owner" name no repository: git cannot list repositories, so they are `Unsupported`.
 */
import type { Readable } from "node:stream";
import type { Address } from "../../address.js";
import type { StowageConfig } from "../../config.js";
import { sectionOf } from "../descriptor.js";
import type { GithubConfig } from "./index.js";
import type { Entry, ListOptions, ReadOptions, Semantics, Stat, System } from "../contract.js";
import { createGuard } from "../guard.js";
import { normalizePath } from "../paths.js";
import { blobStream } from "./blob-stream.js";
import { GithubError, mapGitError } from "./errors.js";
import { GitHttpClient } from "./http.js";
import { parseRepoPath } from "./location.js";
import { UploadPackClient } from "./protocol.js";
import { Repository, type ObjectCaches, type ResolvedPath, type Target } from "./repository.js";

/** Read-only: it has no writes, and no extension but what the core gives. */
const SEMANTICS: Semantics = {
  atomicWrite: false,
  conditionalWrite: false,
  checksums: [],
  directories: true,
  local: false,
};

/** Files resolved together when listing, so sizes are asked for in batches. */
const LIST_BATCH = 1_000;

export function createGithubSystem(address: Address, config: StowageConfig): System {
  const server = (address.server ?? sectionOf<GithubConfig>(config, "github").server ?? process.env.GITHUB_SERVER_URL ?? "https://github.com").replace(
    /\/+$/,
    "",
  );
  const http = new GitHttpClient(process.env.GITHUB_TOKEN || undefined);
  const guard = createGuard("github", mapGitError);
  const caches: ObjectCaches = { trees: new Map(), rootTrees: new Map(), sizes: new Map() };
  const repositories = new Map<string, Repository>();

  function repositoryOf(owner: string, repo: string): Repository {
    const name = `${owner}/${repo}`;
    let repository = repositories.get(name);
    if (!repository) {
      const client = new UploadPackClient(http, `${server}/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}.git`);
      repository = new Repository(name, client, caches);
      repositories.set(name, repository);
    }
    return repository;
  }

  interface Located extends ResolvedPath {
    repository: Repository;
    target: Target | undefined;
  }

  async function locate(path: string, signal?: AbortSignal): Promise<Located> {
    const parsed = parseRepoPath(path);
    if (!parsed) {
      throw new GithubError("Unsupported", "git cannot list repositories; name one as /owner/repo[@ref]");
    }
    const repository = repositoryOf(parsed.owner, parsed.repo);
    const resolved = await repository.resolve(parsed, signal);
    return { ...resolved, repository, target: await repository.find(resolved.commitId, resolved.inner, signal) };
  }

  async function* listEntries(path: string, options: ListOptions): AsyncGenerator<Entry> {
    const { repository, target } = await locate(path, options.signal);
    if (target?.kind !== "directory") return;
    const pending: { path: string; id: string }[] = [];
    async function* flush(): AsyncGenerator<Entry> {
      const sizes = await repository.sizes(
        pending.map((file) => file.id),
        options.signal,
      );
      for (const file of pending.splice(0)) yield { path: file.path, type: "file", size: sizes.get(file.id)!, etag: file.id };
    }
    // Depth-first, each tree in git's (byte) order.
    const stack: { treeId: string; path: string }[] = [{ treeId: target.treeId, path }];
    while (stack.length > 0) {
      const { treeId, path: dir } = stack.pop()!;
      const subtrees: { treeId: string; path: string }[] = [];
      for (const entry of repository.tree(treeId)) {
        const child = `${dir}/${entry.name}`;
        if (entry.kind === "file" || entry.kind === "symlink") {
          pending.push({ path: child, id: entry.id });
          if (pending.length >= LIST_BATCH) yield* flush();
        } else if (!options.recursive) {
          yield { path: child, type: "directory", size: 0, etag: entry.id };
        } else if (entry.kind === "directory") {
          subtrees.push({ treeId: entry.id, path: child });
        }
      }
      yield* flush();
      stack.push(...subtrees.reverse());
    }
  }

  return {
    name: "github",
    id: `github:${server}`,
    semantics: SEMANTICS,

    stat(path, options = {}) {
      return guard("stat", path, async (): Promise<Stat> => {
        const normalized = normalizePath(path);
        const { repository, target } = await locate(normalized, options.signal);
        if (!target) throw new GithubError("NotFound", "no such file or directory");
        if (target.kind === "directory") return { path: normalized, type: "directory", size: 0, etag: target.treeId };
        if (target.kind === "submodule") return { path: normalized, type: "directory", size: 0, etag: target.id };
        const size = (await repository.sizes([target.id], options.signal)).get(target.id)!;
        return { path: normalized, type: "file", size, etag: target.id };
      });
    },

    async *list(path, options = {}) {
      try {
        yield* listEntries(normalizePath(path), options);
      } catch (error) {
        throw guard.error("list", path, error);
      }
    },

    read(path, options: ReadOptions = {}) {
      return guard("read", path, async (): Promise<Readable> => {
        const { repository, target } = await locate(normalizePath(path), options.signal);
        if (!target) throw new GithubError("NotFound", "no such file");
        if (target.kind !== "file") throw new GithubError("IsADirectory", "cannot read a directory");
        const blob = await repository.openBlob(target.id, options.signal);
        return guard.stream("read", path, blobStream(blob, target.id, 0, blob.size, options.signal));
      });
    },

    async close() {
      http.close();
    },
  };
}
