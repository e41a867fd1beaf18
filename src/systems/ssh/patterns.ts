/** OpenSSH's patterns (ssh_config(5) PATTERNS): `*` and `?` wildcards, comma lists, `!negation`. */

/** Whether `text` matches one pattern; host names compare case-insensitively, user names do not. */
export function wildcardMatch(text: string, pattern: string, ignoreCase = true): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${source}$`, ignoreCase ? "is" : "s").test(text);
}

/** OpenSSH's pattern lists: any positive pattern matches and no negated one does. */
export function hostMatches(host: string, patterns: readonly string[], ignoreCase = true): boolean {
  let matched = false;
  for (const pattern of patterns) {
    const negated = pattern.startsWith("!");
    if (!wildcardMatch(host, negated ? pattern.slice(1) : pattern, ignoreCase)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}
