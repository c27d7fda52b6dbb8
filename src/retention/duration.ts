/**
 * Retention durations as restic writes them (`--keep-within 1y2m3d4h`):
 * whole years, months, days and hours, in any order, each unit at most
 * once. They are calendar amounts, not a number of seconds: a month back
 * from March 31 is the wall-clock date "February 31", normalised as Go's
 * `time.AddDate` does (calendar.ts applies them).
 */
import { EbakError } from '../errors.js';

export interface Duration {
  readonly years: number;
  readonly months: number;
  readonly days: number;
  readonly hours: number;
}

export const ZERO_DURATION: Duration = { years: 0, months: 0, days: 0, hours: 0 };

const UNITS = { y: 'years', m: 'months', d: 'days', h: 'hours' } as const;

/**
 * Parses "6y5m234d37h". The empty string is the zero duration (the rule is
 * off), as in restic. Negative numbers, unknown or repeated units and a
 * number without a unit are refused (USAGE); `what` names the flag.
 */
export function parseDuration(text: string, what: string): Duration {
  const s = text.trim();
  const out: { -readonly [K in keyof Duration]: number } = { ...ZERO_DURATION };
  const seen = new Set<string>();
  const re = /(\d+)([ymdh])/y;
  while (re.lastIndex < s.length) {
    const at = re.lastIndex;
    const m = re.exec(s);
    const unit = m?.[2] as keyof typeof UNITS | undefined;
    if (!m || !unit || seen.has(unit) || !Number.isSafeInteger(Number(m[1])))
      throw new EbakError('USAGE', `${what} ${JSON.stringify(text)} is not a duration (bad part at ${JSON.stringify(s.slice(at))})`, {
        hint: 'give whole years, months, days and hours, e.g. 1y2m3d4h (weeks: 7d)',
      });
    seen.add(unit);
    out[UNITS[unit]] = Number(m[1]);
  }
  return out;
}

/** restic's rendering: "1y2m3d4h", zero parts left out. */
export function formatDuration(d: Duration): string {
  return (Object.entries(UNITS) as [string, keyof Duration][]).map(([u, k]) => (d[k] ? `${d[k]}${u}` : '')).join('');
}

export function isZeroDuration(d: Duration | undefined): boolean {
  return !d || (d.years === 0 && d.months === 0 && d.days === 0 && d.hours === 0);
}
