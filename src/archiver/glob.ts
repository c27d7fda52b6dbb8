/**
 * Exclude patterns, restic-style: a pattern without "/" matches any path
 * component (`*.tmp`, `node_modules`); a pattern with "/" matches the whole
 * absolute path from its start. `*` and `?` stay within one component, `**`
 * crosses components.
 */
export type Matcher = (absPath: string) => boolean;

export function compileExcludes(patterns: readonly string[]): Matcher {
  const tests = patterns.map((p) => {
    const re = globRegex(p);
    return p.includes('/') ? (path: string) => re.test(path) || prefixMatches(re, path) : (path: string) => path.split('/').some((c) => re.test(c));
  });
  return (path) => tests.some((t) => t(path));
}

function prefixMatches(re: RegExp, path: string): boolean {
  // "/a/b" also excludes everything under it.
  for (let i = path.indexOf('/', 1); i > 0; i = path.indexOf('/', i + 1)) if (re.test(path.slice(0, i))) return true;
  return false;
}

/** One glob as an anchored regular expression (`*`, `?` within a component, `**` across). */
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
