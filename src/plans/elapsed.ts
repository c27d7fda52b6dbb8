/**
 * Elapsed durations as Go writes them (`time.ParseDuration`, which restic
 * and most schedulers' configs use): "10s", "1h30m", "500ms", "2h45m30s".
 * Unlike retention's calendar amounts (src/retention/duration.ts: "a month
 * back from March 31"), these are a number of milliseconds: a plan's
 * `@every 10s`, its window's `start_within` and `complete_within`.
 */
import { EbakError } from '../errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds, > 0; `what` names the field in the error. Units: ms, s, m, h and (ebak's addition) d. */
export function parseElapsed(text: string, what: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;
  let total = 0;
  const s = text.trim();
  while (re.lastIndex < s.length) {
    const at = re.lastIndex;
    const m = re.exec(s);
    if (!m) throw new EbakError('USAGE', `${what}: ${JSON.stringify(text)} is not a duration (bad part at ${JSON.stringify(s.slice(at))})`, { hint: 'e.g. 10s, 5m, 1h30m, 2d' });
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
  }
  if (!(total > 0) || !Number.isFinite(total)) throw new EbakError('USAGE', `${what}: ${JSON.stringify(text)} is not a positive duration`, { hint: 'e.g. 10s, 5m, 1h30m, 2d' });
  return Math.round(total);
}

/** "1h30m", "10s": the shortest rendering of whole seconds (sub-second parts as ms). */
export function formatElapsed(ms: number): string {
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join('') || '0s';
}
