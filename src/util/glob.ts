/**
 * Path patterns, restic-style (internal/filter, Go's filepath.Match), for
 * backup excludes and restore includes and excludes: a pattern without "/"
 * matches any path component (`*.tmp`, `node_modules`); a pattern starting
 * with "/" matches the whole absolute path from its start; any other
 * pattern with "/" (`src/gen`) matches a run of components anywhere; each
 * matches everything under a path it matches. `*` and `?` stay within one
 * component, `**` crosses components (as a whole component it may stand
 * for no directory, as restic's: `/a/**` matches `/a`, and `/a/`, `**`,
 * `/b` joined match `/a/b`), `[a-z]` / `[^0-9]` are
 * character classes, and `\` takes the next character literally. A trailing
 * "/" is dropped, as filepath.Clean does. A malformed pattern (an unclosed
 * `[`, a trailing `\`) is a USAGE error (patternProblem names it up front).
 *
 * A list of patterns (compileList) reads as restic's filter.List: a pattern
 * starting with "!" is negated, and the last pattern to match a path
 * decides, so a later `!pattern` re-includes what an earlier one matched.
 */
import { EbakError } from '../errors.js';

export type Matcher = (absPath: string) => boolean;

export interface Pattern {
  /** The path, or one of its ancestors, matches the pattern. */
  matches(absPath: string): boolean;
  /** Something under the directory `absDir` could match (a restore walks into it). */
  mayContain(absDir: string): boolean;
}

/** One pattern. */
export function compilePattern(pattern: string): Pattern {
  // filepath.Clean's trailing "/"; a leading "**/" adds nothing to a pattern that may start anywhere.
  const p = (pattern.length > 1 ? pattern.replace(/\/+$/, '') : pattern).replace(/^(\*\*\/)+(?=.)/, '');
  if (!p.includes('/')) {
    const re = globRegex(p);
    return { matches: (path) => path.split('/').some((c) => re.test(c)), mayContain: () => true };
  }
  if (!p.startsWith('/')) {
    // Relative, as restic reads it: the components may start anywhere below the root.
    const re = new RegExp(`^.*/${toRegex(p)}$`);
    return { matches: (path) => re.test(path) || prefixMatches(re, path), mayContain: () => true };
  }
  const re = globRegex(p);
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

export interface PatternList {
  /** The list selects the path: a pattern matches it (or an ancestor), and no later !pattern does. */
  matches(absPath: string): boolean;
  /** A !pattern could match something under the directory (so a walk enters it even when the list selects it). */
  negationBelow(absDir: string): boolean;
  /** Something under the directory could be selected (a restore walks into it). */
  mayContain(absDir: string): boolean;
  readonly negated: boolean;
}

/** A pattern list, restic's way: `!pattern` negates, and the last pattern matching decides (restic's filter.List). */
export function compileList(patterns: readonly string[]): PatternList {
  const compiled = patterns.map((text) => ({ negated: text.startsWith('!'), pattern: compilePattern(text.startsWith('!') ? text.slice(1) : text) }));
  const negations = compiled.filter((c) => c.negated);
  const matches = (path: string): boolean => {
    let matched = false;
    for (const c of compiled) if (matched === c.negated && c.pattern.matches(path)) matched = !c.negated;
    return matched;
  };
  return {
    matches,
    negationBelow: (dir) => negations.some((c) => c.pattern.mayContain(dir)),
    mayContain: (dir) => compiled.some((c) => !c.negated && c.pattern.mayContain(dir)),
    negated: negations.length > 0,
  };
}

/** What `patterns` select, as a list (backup's and restore's excludes): compileList's `matches`. */
export function compileExcludes(patterns: readonly string[]): Matcher {
  return compileList(patterns).matches;
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

/** The problem with a pattern (malformed), or undefined when it compiles. */
export function patternProblem(glob: string): string | undefined {
  if (glob === '!') return 'pattern "!" negates nothing';
  try {
    toRegex(glob);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

function toRegex(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    const wholeComponent = c === '/' && glob.startsWith('**', i + 1) && (i + 3 === glob.length || glob[i + 3] === '/');
    if (wholeComponent) {
      // "/**" as a whole component: zero or more directories ("/a/**/b" matches "/a/b", "/a/**" matches "/a").
      out += '(?:/.*)?';
      i += 2;
    } else if (c === '*' && glob[i + 1] === '*') {
      out += '.*';
      i++;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const cls = charClass(glob, i);
      out += cls.regex;
      i = cls.end;
    } else if (c === '\\') {
      if (i + 1 >= glob.length) throw badPattern(glob, 'ends with a lone \\');
      out += literal(glob[++i]!);
    } else out += literal(c);
  }
  return out;
}

const literal = (c: string): string => c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

/** The class opening at glob[start] ("[^" negates, "\\" escapes, must not be empty), never matching "/". */
function charClass(glob: string, start: number): { regex: string; end: number } {
  let i = start + 1;
  const negate = glob[i] === '^';
  if (negate) i++;
  let body = '';
  for (let first = true; ; first = false) {
    if (i >= glob.length) throw badPattern(glob, 'has an unclosed [');
    let c = glob[i]!;
    if (c === ']') {
      if (first) throw badPattern(glob, 'has an empty []');
      break;
    }
    const escaped = c === '\\';
    if (escaped) c = glob[++i] ?? '';
    if (c === '') throw badPattern(glob, 'has an unclosed [');
    body += c === '-' && !escaped && !first && glob[i + 1] !== ']' ? '-' : literal(c);
    i++;
  }
  return { regex: negate ? `[^/${body}]` : `(?!/)[${body}]`, end: i };
}

function badPattern(glob: string, why: string): EbakError {
  return new EbakError('USAGE', `pattern ${JSON.stringify(glob)} ${why}`);
}
