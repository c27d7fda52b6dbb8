/**
 * Checks of single flag values for the schema (src/config/schema.ts): each
 * returns the problem as one sentence naming the flag, or undefined. They
 * only judge the text; the command converts it (Number, new Date) when used.
 */
import { isIP } from 'node:net';
import { patternProblem } from '../util/glob.js';

type Check = (value: string) => string | undefined;

const integerIn = (flag: string, min: number, max: number): Check => (v) => {
  const n = Number(v);
  return Number.isInteger(n) && n >= min && n <= max ? undefined : `${flag} is ${min}..${max}`;
};

/** a.b.c.d[/0..32] or x::y[/0..128]. */
function isCidr(c: string): boolean {
  const [net, bits, extra] = c.trim().split('/');
  const family = isIP(net ?? '');
  if (!family || extra !== undefined) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}

export const checks = {
  isoTime: (v: string): string | undefined => (Number.isNaN(new Date(v).getTime()) ? `--time ${JSON.stringify(v)} is not an ISO 8601 time` : undefined),
  oneOf: (flag: string, allowed: readonly string[]): Check => (v) => (allowed.includes(v) ? undefined : `${flag} is ${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1]}`),
  integerIn,
  /** Addresses or CIDRs, comma-separated (a.b.c.d[/n], x::y[/n]). */
  cidrList: (flag: string): Check => (v) => (v.split(',').every(isCidr) ? undefined : `${flag} is a comma-separated list of addresses or CIDRs (a.b.c.d/n, x::y/n)`),
  positiveInteger: (flag: string): Check => (v) => (Number.isInteger(Number(v)) && Number(v) >= 1 ? undefined : `${flag} is a positive integer`),
  /** A glob pattern (--exclude, --include): an empty one would match nothing, or everything; a malformed one nothing. */
  pattern: (flag: string): Check => (v) => {
    if (v.trim() === '') return `${flag} needs a pattern, not an empty string`;
    const problem = patternProblem(v);
    return problem === undefined ? undefined : `${flag}: ${problem}`;
  },
  /** --exclude-if-present FILE[:HEADER] (restic's): the file name must be given. */
  tagFile: (flag: string): Check => (v) => (v.split(':', 1)[0] === '' ? `${flag} needs a file name (FILE or FILE:HEADER)` : undefined),
  daysUpTo: (flag: string, max: number): Check => (v) => (Number(v) > 0 && Number(v) <= max ? undefined : `${flag} is a number of days, at most ${max}`),
};
