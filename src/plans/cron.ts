/**
 * Plan schedules: a 5-field cron expression (minute hour day-of-month month
 * day-of-week, Vixie cron's syntax: lists, ranges, steps, month and day
 * names, 0 or 7 for Sunday), a macro (@hourly, @daily/@midnight, @weekly,
 * @monthly, @yearly/@annually), or `@every <duration>`.
 *
 * Wall-clock semantics in the plan's time zone, as cronie defines them:
 *  - day-of-month and day-of-week both restricted: either may match (the
 *    classic cron OR rule); one of them "*": the other decides;
 *  - a wall time skipped by a DST change (02:30 on the spring-forward
 *    night) runs at the first instant after the gap, once;
 *  - a wall time the fall-back hour repeats runs once, at its first
 *    occurrence.
 * `@every` is elapsed time from the previous scheduled run, not the wall.
 * `next(after)` is pure: the scheduler owns the clock.
 */
import { EbakError } from '../errors.js';
import { Calendar, type Wall } from '../retention/calendar.js';
import { parseElapsed } from './elapsed.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;

export interface Schedule {
  /** The first run strictly after `after` (ms since the epoch); undefined when none exists within a few years. */
  next(after: number): number | undefined;
  readonly text: string;
}

const MACROS: Record<string, string> = {
  '@hourly': '0 * * * *', '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *', '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *',
};
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface Field {
  name: string;
  min: number;
  max: number;
  names?: string[];
  /** The first name stands for this number (months: 1). */
  nameBase?: number;
}
const FIELDS: Field[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, nameBase: 1 },
  { name: 'day of week', min: 0, max: 7, names: DAYS, nameBase: 0 },
];

/** Parses a schedule; `what` names the field in errors. `timeZone` is an IANA zone (default: the process's). */
export function parseSchedule(text: string, what: string, timeZone?: string): Schedule {
  const t = text.trim();
  if (t.startsWith('@every')) {
    const every = parseElapsed(t.slice('@every'.length), what);
    return { text: t, next: (after) => after + every };
  }
  const expr = MACROS[t] ?? (t.startsWith('@') ? undefined : t);
  if (expr === undefined) throw new EbakError('USAGE', `${what}: unknown schedule ${JSON.stringify(t)}`, { hint: `use a 5-field cron expression, ${Object.keys(MACROS).join(', ')} or @every <duration>` });
  const parts = expr.split(/\s+/);
  if (parts.length !== 5) throw new EbakError('USAGE', `${what}: a cron expression has 5 fields (minute hour day-of-month month day-of-week), ${JSON.stringify(t)} has ${parts.length}`);
  const sets = parts.map((p, i) => parseField(p, FIELDS[i]!, what));
  if (sets[4]!.has(7)) sets[4]!.add(0); // 7 is Sunday too
  const cron = { minutes: sets[0]!, hours: sets[1]!, days: sets[2]!, months: sets[3]!, weekdays: sets[4]!, anyDay: parts[2] === '*', anyWeekday: parts[4] === '*' };
  if (!possible(cron)) throw new EbakError('USAGE', `${what}: ${JSON.stringify(t)} never runs (no month has that day)`);
  let calendar: Calendar;
  try {
    calendar = new Calendar(timeZone);
  } catch {
    throw new EbakError('USAGE', `${what}: unknown time zone ${JSON.stringify(timeZone)}`, { hint: 'give an IANA zone such as Europe/Paris or UTC' });
  }
  return { text: t, next: (after) => nextCron(cron, calendar, after) };
}

interface Cron {
  minutes: Set<number>;
  hours: Set<number>;
  days: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
  anyDay: boolean;
  anyWeekday: boolean;
}

function parseField(text: string, f: Field, what: string): Set<number> {
  const out = new Set<number>();
  const bad = (why: string) => new EbakError('USAGE', `${what}: ${f.name} field ${JSON.stringify(text)}: ${why}`);
  for (const item of text.split(',')) {
    const [range, stepText] = item.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw bad(`step ${JSON.stringify(stepText)} is not a positive whole number`);
    let lo: number;
    let hi: number;
    if (range === '*') [lo, hi] = [f.min, f.name === 'day of week' ? 6 : f.max];
    else {
      const [a, b] = range!.split('-');
      lo = value(a!, f, bad);
      hi = b === undefined ? (stepText === undefined ? lo : f.max) : value(b, f, bad);
    }
    if (lo > hi) throw bad(`range ${lo}-${hi} runs backwards`);
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

function value(text: string, f: Field, bad: (why: string) => EbakError): number {
  const named = f.names?.indexOf(text.toLowerCase()) ?? -1;
  const v = named >= 0 ? named + f.nameBase! : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(v) || v < f.min || v > f.max) throw bad(`${JSON.stringify(text)} is not in ${f.min}-${f.max}`);
  return v;
}

/** Whether some month has one of the days (an expression like "0 0 31 2 *" never runs). */
function possible(c: Cron): boolean {
  if (!c.anyWeekday) return true;
  const longest = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  return [...c.months].some((m) => [...c.days].some((d) => d <= longest[m - 1]!));
}

function dayMatches(c: Cron, w: Wall): boolean {
  const weekday = new Date(Date.UTC(w.year, w.month - 1, w.day)).getUTCDay();
  const dom = c.days.has(w.day);
  const dow = c.weekdays.has(weekday);
  if (c.anyDay && c.anyWeekday) return true;
  if (c.anyDay) return dow;
  if (c.anyWeekday) return dom;
  return dom || dow;
}

const wallMatches = (c: Cron, w: Wall) => c.months.has(w.month) && dayMatches(c, w) && c.hours.has(w.hour) && c.minutes.has(w.minute);

/**
 * Steps through instants (an hour at a time where the hour cannot match, a
 * minute at a time where it can), reading the wall clock at each: at most
 * 24 × 366 × 5 + 60 steps for any expression that runs within five years.
 */
function nextCron(c: Cron, cal: Calendar, after: number): number | undefined {
  let t = Math.floor(after / MINUTE) * MINUTE + MINUTE;
  let prev = t - MINUTE;
  const limit = after + 5 * 366 * 24 * HOUR;
  while (t <= limit) {
    const w = cal.wall(t);
    if (skippedMatch(c, cal, prev, t)) return t;
    const hourOk = c.months.has(w.month) && dayMatches(c, w) && c.hours.has(w.hour);
    if (hourOk && c.minutes.has(w.minute) && !repeated(cal, t, w)) return t;
    prev = t;
    t += hourOk ? MINUTE : (60 - w.minute) * MINUTE;
  }
  return undefined;
}

/** A DST gap between `prev` and `t` (the wall clock jumped ahead) that swallowed a matching wall time. */
function skippedMatch(c: Cron, cal: Calendar, prev: number, t: number): boolean {
  const gap = cal.offset(t) - cal.offset(prev);
  if (gap <= 0) return false;
  const wallT = t + cal.offset(t);
  for (let wall = wallT - gap; wall < wallT; wall += MINUTE) if (wallMatches(c, utcWall(wall))) return true;
  return false;
}

/** The second reading of a wall time the fall-back hour repeats. */
function repeated(cal: Calendar, t: number, w: Wall): boolean {
  const back = cal.offset(t - HOUR) - cal.offset(t);
  if (back <= 0) return false;
  const earlier = cal.wall(t - back);
  return earlier.hour === w.hour && earlier.minute === w.minute && earlier.day === w.day;
}

/** A wall time encoded as if UTC, read back as fields. */
function utcWall(ms: number): Wall {
  const d = new Date(ms);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: 0, millisecond: 0 };
}
