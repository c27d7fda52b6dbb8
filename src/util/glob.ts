/**
 * Path patterns, restic-style, for backup excludes and restore includes and
 * excludes: a pattern without "/" matches any path component (`*.tmp`,
 * `node_modules`); a pattern with "/" matches the whole absolute path from
 * its start, and everything under a path it matches. `*` and `?` stay
 * within one component, `**` crosses components.
 */
export type Matcher = (absPath: string) => boolean;

export interface Pattern {
  /** The path, or one of its ancestors, matches the pattern. */
  matches(absPath: string): boolean;
  /** Something under the directory `absDir` could match (a restore walks into it). */
  mayContain(absDir: string): boolean;
}

/** One pattern. */
export function compilePattern(p: string): Pattern {
  const re = globRegex(p);
  if (!p.includes('/')) {
    return { matches: (path) => path.split('/').some((c) => re.test(c)), mayContain: () => true };
  }
  const parts = p.split('/').filter(Boolean).map((c) => (c.includes('**') ? undefined : globRegex(c)));
  return {
    matches: (path) => re.test(path) || prefixMatches(re, path),
    mayContain: (dir) => leadsTo(parts, dir.split('/').filter(Boolean)),
  };
}

/** Each component of the directory against the pattern's, until a "**" (undefined: anything may follow). */
function leadsTo(parts: readonly (RegExp | undefined)[], dir: readonly string[]): boolean {
  for (const [i, c] of dir.entries()) {
    if (i >= parts.length) return false;
    const part = parts[i];
    if (part === undefined) return true;
    if (!part.test(c)) return false;
  }
  return true;
}

/** Any of `patterns` (backup's excludes). */
export function compileExcludes(patterns: readonly string[]): Matcher {
  const compiled = patterns.map(compilePattern);
  return (path) => compiled.some((c) => c.matches(path));
}

function prefixMatches(re: RegExp, path: string): boolean {
  // "/a/b" also matches everything under it.
  for (let i = path.indexOf('/', 1); i > 0; i = path.indexOf('/', i + 1)) if (re.test(path.slice(0, i))) return true;
  return false;
}

/** One glob as an anchored regular expression (`*`, `?` within a component, `**` across): find's name and path patterns. */
export function globRegex(glob: string, flags = ''): RegExp {
  return new RegExp(`^${toRegex(glob)}$`, flags);
}

function toRegex(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      out += '.*';
      i++;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return out;
}
