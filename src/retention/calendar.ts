/**
 * Wall-clock time in one time zone, for the forget policy's buckets and
 * its "within" cut-offs. restic buckets snapshots by local time (an hour is
 * :00 to :59, a day 00:00 to 23:59, a week Monday to Sunday by ISO 8601);
 * ebak stores snapshot times in UTC, so "local" is the zone of the process
 * running forget (TZ), or the zone a caller names. Any IANA zone works,
 * through Intl; no global state is read after construction.
 */
import type { Duration } from './duration.js';

/** Local date and time of an instant; `month` 1–12, `hour` 0–23. */
export interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export class Calendar {
  private readonly format: Intl.DateTimeFormat;

  /** `timeZone`: an IANA name; by default the process's zone (TZ). Throws RangeError for an unknown zone. */
  constructor(readonly timeZone: string = Intl.DateTimeFormat().resolvedOptions().timeZone) {
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23',
      year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
  }

  wall(ms: number): Wall {
    const p: Record<string, string> = {};
    for (const { type, value } of this.format.formatToParts(ms)) p[type] = value;
    return {
      year: Number(p.year), month: Number(p.month), day: Number(p.day), hour: Number(p.hour), minute: Number(p.minute), second: Number(p.second),
      millisecond: ((ms % 1000) + 1000) % 1000,
    };
  }

  /** The zone's offset from UTC at `ms`, in milliseconds (east positive). */
  offset(ms: number): number {
    return wallAsUtc(this.wall(ms)) - ms;
  }

  /**
   * The instant `d` before `ms`, as restic computes it: the calendar part on
   * the wall clock (Go's `AddDate(-y, -m, -d)`: "March 31 minus a month" is
   * February 31, which normalises to early March), then the hours as
   * elapsed time.
   */
  before(ms: number, d: Duration): number {
    const w = this.wall(ms);
    const shifted = wallAsUtc({ ...w, year: w.year - d.years, month: w.month - d.months, day: w.day - d.days });
    return this.instant(shifted) - d.hours * HOUR_MS;
  }

  /**
   * The instant whose wall clock reads `wallMs` (a wall time encoded as if
   * UTC). Go's `time.Date` rule: take the offset in force at the wall time
   * read as UTC; if that instant has another offset, use that one. A time
   * skipped or repeated by a DST change thus resolves to one of its two
   * readings, the same one Go picks.
   */
  private instant(wallMs: number): number {
    const first = this.offset(wallMs);
    return wallMs - this.offset(wallMs - first);
  }
}

/** A wall time read as if it were UTC (years before 100 included, unlike Date.UTC). */
function wallAsUtc(w: Wall): number {
  const d = new Date(0);
  d.setUTCFullYear(w.year, w.month - 1, w.day);
  d.setUTCHours(w.hour, w.minute, w.second, w.millisecond);
  return d.getTime();
}

/** ISO 8601 week-numbering year and week (weeks start on Monday; week 1 holds the year's first Thursday). */
export function isoWeek(w: Pick<Wall, 'year' | 'month' | 'day'>): { year: number; week: number } {
  const date = wallAsUtc({ year: w.year, month: w.month, day: w.day, hour: 0, minute: 0, second: 0, millisecond: 0 });
  const weekday = (new Date(date).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  const thursday = date + (3 - weekday) * DAY_MS;
  const year = new Date(thursday).getUTCFullYear();
  const jan1 = wallAsUtc({ year, month: 1, day: 1, hour: 0, minute: 0, second: 0, millisecond: 0 });
  return { year, week: Math.floor((thursday - jan1) / (7 * DAY_MS)) + 1 };
}
