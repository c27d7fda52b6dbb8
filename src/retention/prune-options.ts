/**
 * prune's size flags, as restic reads them: `--max-unused` is a percentage
 * ("5%", restic's default), a size or "unlimited"; a size is a whole number
 * of bytes with an optional k, m, g or t suffix (either case, powers of
 * 1024). Every bad value is USAGE, naming the flag.
 */
import { EbakError } from '../errors.js';
import type { MaxUnused } from './prune-plan.js';

export const DEFAULT_MAX_UNUSED = '5%';

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

export function parseSize(text: string, flag: string): number {
  const m = /^(\d+)([kmgt]?)$/i.exec(text);
  const n = m ? Number(m[1]) * UNITS[m[2]!.toLowerCase()]! : NaN;
  if (!Number.isSafeInteger(n)) throw new EbakError('USAGE', `${flag} ${JSON.stringify(text)} is not a size`, { hint: 'give bytes, optionally with k, m, g or t (e.g. 500m)' });
  return n;
}

export function parseMaxUnused(text: string): MaxUnused {
  if (text === 'unlimited') return 'unlimited';
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (!pct) return { bytes: parseSize(text, '--max-unused') };
  const percent = Number(pct[1]);
  if (percent >= 100) throw new EbakError('USAGE', `--max-unused ${JSON.stringify(text)} must be below 100%`, { hint: 'or give unlimited' });
  return { percent };
}
