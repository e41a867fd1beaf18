/**
 * Splits a github system path into repository, ref and path:
 * "/owner/repo@feature/x/data/a.csv" → owner, repo, and the segments after "@", of which some
 * leading ones name the ref (resolved against the repository's refs, see repository.ts).
 */
export interface RepoPath {
  owner: string;
  repo: string;
  /** Segments after "@": a ref, then a path inside the repository. Undefined without "@". */
  refAndPath: string[] | undefined;
  /** Without "@": the path inside the repository at its default branch. */
  path: string[];
}

/** Parses a normalized path; undefined for "/" and "/owner", which name no repository. */
export function parseRepoPath(path: string): RepoPath | undefined {
  const [owner, repoAndRef, ...rest] = path.split("/").slice(1).filter(Boolean);
  if (!owner || !repoAndRef) return undefined;
  const at = repoAndRef.indexOf("@");
  if (at < 0) return { owner, repo: repoAndRef, refAndPath: undefined, path: rest };
  const ref = repoAndRef.slice(at + 1);
  return { owner, repo: repoAndRef.slice(0, at), refAndPath: ref ? [ref, ...rest] : rest, path: [] };
}
