/**
 * One repository as a read-only tree: resolves refs, fetches a commit's trees once, finds paths in
 * them, and learns blob sizes. Trees and sizes are cached by object id (ids name content, so the
 * caches never go stale); ref → commit answers are kept for REF_TTL_MS.
 */
import { GitProtocolError, GithubError } from "./errors.js";
import type { RepoPath } from "./location.js";
import { parsePack } from "./pack.js";
import type { BlobFetch, RemoteRef, UploadPackClient } from "./protocol.js";
import { commitTree, parseTree, type TreeEntry } from "./tree.js";

/** How long a branch or tag stays resolved to the same commit within one system instance. */
export const REF_TTL_MS = 30_000;
/** object-info requests carry this many ids at most. */
const SIZE_BATCH = 1_000;
/** Parallel blob fetches when sizes must be read from pack entry headers. */
const PEEK_CONCURRENCY = 8;

/** Caches shared by every repository of one system instance. */
export interface ObjectCaches {
  trees: Map<string, TreeEntry[]>;
  rootTrees: Map<string, string>;
  sizes: Map<string, number>;
}

export interface ResolvedPath {
  /** The repository root as the caller spelled it: "/owner/repo@ref" or "/owner/repo". */
  root: string;
  commitId: string;
  /** Path segments inside the repository. */
  inner: string[];
}

/** Where a path leads inside a commit's tree. */
export type Target = { kind: "directory"; treeId: string } | { kind: "submodule"; id: string } | { kind: "file"; id: string };

const COMMIT_ID = /^[0-9a-f]{40}$/i;

export class Repository {
  readonly #client: UploadPackClient;
  readonly #caches: ObjectCaches;
  readonly #refs = new Map<string, { at: number; refs: Promise<RemoteRef[]> }>();
  readonly #treeFetches = new Map<string, Promise<string>>();

  constructor(
    readonly name: string,
    client: UploadPackClient,
    caches: ObjectCaches,
  ) {
    this.#client = client;
    this.#caches = caches;
  }

  /**
   * Finds the commit a path names. The ref after "@" may hold "/": the longest leading run of
   * segments that names a branch, then a tag, wins (as GitHub resolves /tree/<ref>/<path>);
   * a full 40-hex commit id is taken as it is. No "@" means the default branch (HEAD).
   */
  async resolve(path: RepoPath, signal?: AbortSignal): Promise<ResolvedPath> {
    const base = `/${path.owner}/${path.repo}`;
    if (path.refAndPath === undefined) {
      const head = (await this.#lsRefs(["HEAD"], signal)).find((ref) => ref.name === "HEAD");
      if (!head) throw new GithubError("NotFound", `${this.name} has no default branch (empty repository)`);
      return { root: base, commitId: head.id, inner: path.path };
    }
    const segments = path.refAndPath;
    const first = segments[0];
    if (!first) throw new GithubError("InvalidInput", `no ref after "@" in ${base}@`);
    const prefixes = [`refs/heads/${first}`, `refs/tags/${first}`];
    if (first === "HEAD" || first === "refs") prefixes.push(first);
    const refs = new Map((await this.#lsRefs(prefixes, signal)).map((ref) => [ref.name, ref.peeled ?? ref.id]));
    for (let count = segments.length; count >= 1; count--) {
      const name = segments.slice(0, count).join("/");
      const commitId = refs.get(`refs/heads/${name}`) ?? refs.get(`refs/tags/${name}`) ?? refs.get(name);
      if (commitId) return { root: `${base}@${name}`, commitId, inner: segments.slice(count) };
    }
    if (COMMIT_ID.test(first)) return { root: `${base}@${first}`, commitId: first.toLowerCase(), inner: segments.slice(1) };
    throw new GithubError("NotFound", `no branch, tag or commit "${segments.join("/")}" in ${this.name}`);
  }

  /** Follows `inner` from the commit's root tree; undefined when nothing is there. */
  async find(commitId: string, inner: readonly string[], signal?: AbortSignal): Promise<Target | undefined> {
    let treeId = await this.#rootTree(commitId, signal);
    for (let i = 0; i < inner.length; i++) {
      const entry = this.tree(treeId).find((e) => e.name === inner[i]);
      if (!entry) return undefined;
      if (entry.kind === "directory") {
        treeId = entry.id;
        continue;
      }
      if (i < inner.length - 1) return undefined;
      return entry.kind === "submodule" ? { kind: "submodule", id: entry.id } : { kind: "file", id: entry.id };
    }
    return { kind: "directory", treeId };
  }

  /** A tree fetched along with its commit. */
  tree(treeId: string): TreeEntry[] {
    const entries = this.#caches.trees.get(treeId);
    if (!entries) throw new GitProtocolError(`tree ${treeId} was not in the fetched pack`);
    return entries;
  }

  /** Sizes of blobs: cached, else `object-info` where offered, else read from pack entry headers. */
  async sizes(ids: readonly string[], signal?: AbortSignal): Promise<Map<string, number>> {
    const cache = this.#caches.sizes;
    let missing = [...new Set(ids.filter((id) => !cache.has(id)))];
    if (missing.length > 0 && (await this.#client.capabilities(signal)).objectInfo) {
      for (let i = 0; i < missing.length; i += SIZE_BATCH) {
        for (const [id, size] of await this.#client.objectSizes(missing.slice(i, i + SIZE_BATCH), signal)) cache.set(id, size);
      }
      missing = missing.filter((id) => !cache.has(id));
    }
    let next = 0;
    const peek = async () => {
      while (next < missing.length) {
        const blob = await this.openBlob(missing[next++]!, signal);
        blob.abort();
      }
    };
    await Promise.all(Array.from({ length: Math.min(PEEK_CONCURRENCY, missing.length) }, peek));
    return new Map(ids.map((id) => [id, cache.get(id)!]));
  }

  /** Starts downloading one blob; its size is known (and cached) once this resolves. */
  async openBlob(id: string, signal?: AbortSignal): Promise<BlobFetch> {
    const blob = await this.#client.openBlob(id, signal);
    this.#caches.sizes.set(id, blob.size);
    return blob;
  }

  #lsRefs(prefixes: string[], signal?: AbortSignal): Promise<RemoteRef[]> {
    const key = prefixes.join("\n");
    const cached = this.#refs.get(key);
    if (cached && Date.now() - cached.at < REF_TTL_MS) return cached.refs;
    const refs = this.#client.lsRefs(prefixes, signal);
    this.#refs.set(key, { at: Date.now(), refs });
    refs.catch(() => this.#refs.delete(key));
    return refs;
  }

  /** The commit's root tree id, fetching the commit with all its trees (no blobs) the first time. */
  #rootTree(commitId: string, signal?: AbortSignal): Promise<string> {
    const known = this.#caches.rootTrees.get(commitId);
    if (known) return Promise.resolve(known);
    let fetching = this.#treeFetches.get(commitId);
    if (!fetching) {
      fetching = this.#fetchTrees(commitId, signal).finally(() => this.#treeFetches.delete(commitId));
      this.#treeFetches.set(commitId, fetching);
    }
    return fetching;
  }

  async #fetchTrees(commitId: string, signal?: AbortSignal): Promise<string> {
    const objects = parsePack(await this.#client.fetchTrees(commitId, signal), () => undefined);
    for (const [id, object] of objects) {
      if (object.type === "tree") this.#caches.trees.set(id, parseTree(object.data));
    }
    const commit = objects.get(commitId);
    if (commit?.type !== "commit") throw new GithubError("NotFound", `${commitId} is not a commit in ${this.name}`);
    const rootTree = commitTree(commit.data);
    this.#caches.rootTrees.set(commitId, rootTree);
    return rootTree;
  }
}
