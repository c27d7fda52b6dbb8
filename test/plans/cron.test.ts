/**
 * Plan schedules (src/plans/cron.ts) against cron's documented rules (the
 * crontab(5) man page of cronie / Vixie cron: field ranges, lists, ranges,
 * steps, names, 7 = Sunday, the day-of-month/day-of-week OR rule; cronie's
 * DST handling: a skipped time runs once right after the gap, a repeated
 * time runs once). Pure: times in, times out, no clock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isEbakError } from '../../src/errors.js';
import { parseSchedule } from '../../src/plans/cron.js';
import { formatElapsed, parseElapsed } from '../../src/plans/elapsed.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? 'never' : new Date(ms).toISOString());

/** The first `n` runs after `from`. */
function runs(expr: string, from: string, n: number, zone = 'UTC'): string[] {
  const s = parseSchedule(expr, 'schedule', zone);
  const out: string[] = [];
  let t = at(from);
  for (let i = 0; i < n; i++) {
    const next = s.next(t);
    out.push(iso(next));
    if (next === undefined) break;
    t = next;
  }
  return out;
}

describe('cron fields', () => {
  it('lists, ranges, steps and names (crontab(5))', () => {
    assert.deepEqual(runs('*/20 9-10 * * *', '2024-03-01T08:59:00Z', 7), [
      '2024-03-01T09:00:00.000Z', '2024-03-01T09:20:00.000Z', '2024-03-01T09:40:00.000Z',
      '2024-03-01T10:00:00.000Z', '2024-03-01T10:20:00.000Z', '2024-03-01T10:40:00.000Z', '2024-03-02T09:00:00.000Z',
    ]);
    assert.deepEqual(runs('30 2 1,15 jan,JUL *', '2024-01-10T00:00:00Z', 3), ['2024-01-15T02:30:00.000Z', '2024-07-01T02:30:00.000Z', '2024-07-15T02:30:00.000Z']);
    assert.deepEqual(runs('0 12 * * mon-fri/2', '2024-03-01T13:00:00Z', 3), ['2024-03-04T12:00:00.000Z', '2024-03-06T12:00:00.000Z', '2024-03-08T12:00:00.000Z'], 'Mon, Wed, Fri');
    assert.deepEqual(runs('5/20 0 1 1 *', '2024-01-01T00:00:00Z', 3), ['2024-01-01T00:05:00.000Z', '2024-01-01T00:25:00.000Z', '2024-01-01T00:45:00.000Z'], 'a start with a step runs to the end of the range');
  });

  it('7 and 0 are both Sunday; the macros', () => {
    assert.deepEqual(runs('0 0 * * 7', '2024-03-01T00:00:00Z', 1), runs('0 0 * * 0', '2024-03-01T00:00:00Z', 1));
    assert.deepEqual(runs('0 0 * * sun', '2024-03-01T00:00:00Z', 1), ['2024-03-03T00:00:00.000Z']);
    assert.deepEqual(runs('@hourly', '2024-03-01T10:59:59Z', 2), ['2024-03-01T11:00:00.000Z', '2024-03-01T12:00:00.000Z']);
    assert.deepEqual(runs('@daily', '2024-03-01T10:00:00Z', 1), ['2024-03-02T00:00:00.000Z']);
    assert.deepEqual(runs('@weekly', '2024-03-01T10:00:00Z', 1), ['2024-03-03T00:00:00.000Z'], 'Sunday midnight');
    assert.deepEqual(runs('@monthly', '2024-03-01T00:00:00Z', 1), ['2024-04-01T00:00:00.000Z']);
    assert.deepEqual(runs('@yearly', '2024-03-01T00:00:00Z', 1), ['2025-01-01T00:00:00.000Z']);
  });

  it('day of month and day of week: both restricted means either (the OR rule); one "*" means the other decides', () => {
    // The 13th, or any Friday: Fri 1 Mar, Fri 8 Mar, Wed 13 Mar, Fri 15 Mar.
    assert.deepEqual(runs('0 0 13 * fri', '2024-02-29T12:00:00Z', 4), ['2024-03-01T00:00:00.000Z', '2024-03-08T00:00:00.000Z', '2024-03-13T00:00:00.000Z', '2024-03-15T00:00:00.000Z']);
    assert.deepEqual(runs('0 0 13 * *', '2024-02-29T12:00:00Z', 1), ['2024-03-13T00:00:00.000Z']);
    assert.deepEqual(runs('0 0 * * fri', '2024-02-29T12:00:00Z', 1), ['2024-03-01T00:00:00.000Z']);
    assert.deepEqual(runs('0 0 31 * *', '2024-01-31T12:00:00Z', 2), ['2024-03-31T00:00:00.000Z', '2024-05-31T00:00:00.000Z'], 'months without a 31st are skipped');
    assert.deepEqual(runs('0 0 29 2 *', '2024-03-01T00:00:00Z', 1), ['2028-02-29T00:00:00.000Z'], 'leap days');
  });

  it('the next run is strictly after the given time, seconds ignored', () => {
    assert.deepEqual(runs('30 10 * * *', '2024-03-01T10:30:00Z', 1), ['2024-03-02T10:30:00.000Z']);
    assert.deepEqual(runs('30 10 * * *', '2024-03-01T10:29:59.999Z', 1), ['2024-03-01T10:30:00.000Z']);
  });
});

describe('time zones and DST (cronie\'s rules)', () => {
  it('runs at the wall time of the plan\'s zone', () => {
    assert.deepEqual(runs('0 9 * * *', '2024-06-01T00:00:00Z', 1, 'Asia/Kolkata'), ['2024-06-01T03:30:00.000Z']);
    assert.deepEqual(runs('0 9 * * *', '2024-06-01T00:00:00Z', 1, 'America/New_York'), ['2024-06-01T13:00:00.000Z']);
  });

  it('spring forward: 02:30, which does not exist that night, runs once at 03:00; the next day at 02:30 again', () => {
    // New York, Sun 10 Mar 2024: 02:00 EST becomes 03:00 EDT (07:00Z).
    assert.deepEqual(runs('30 2 * * *', '2024-03-09T12:00:00Z', 3, 'America/New_York'), ['2024-03-10T07:00:00.000Z', '2024-03-11T06:30:00.000Z', '2024-03-12T06:30:00.000Z']);
    // An hourly job loses no run and gains none: 01:00 EST, then 03:00 EDT.
    assert.deepEqual(runs('0 * * * *', '2024-03-10T05:30:00Z', 3, 'America/New_York'), ['2024-03-10T06:00:00.000Z', '2024-03-10T07:00:00.000Z', '2024-03-10T08:00:00.000Z']);
  });

  it('fall back: 01:30, which happens twice that night, runs once (the first)', () => {
    // New York, Sun 3 Nov 2024: 02:00 EDT becomes 01:00 EST (06:00Z).
    assert.deepEqual(runs('30 1 * * *', '2024-11-02T12:00:00Z', 2, 'America/New_York'), ['2024-11-03T05:30:00.000Z', '2024-11-04T06:30:00.000Z']);
    assert.deepEqual(runs('30 1 * * *', '2024-10-26T12:00:00Z', 2, 'Europe/London'), ['2024-10-27T00:30:00.000Z', '2024-10-28T01:30:00.000Z']);
  });
});

describe('@every and bad schedules', () => {
  it('@every is elapsed time from the previous run', () => {
    const s = parseSchedule('@every 10s', 'schedule');
    assert.equal(s.next(at('2024-03-10T06:59:55Z')), at('2024-03-10T07:00:05Z'));
    assert.equal(parseElapsed('1h30m', 'x'), 5_400_000);
    assert.equal(parseElapsed('500ms', 'x'), 500);
    assert.equal(formatElapsed(5_400_000), '1h30m');
  });

  it('refuses, naming the field: wrong field counts, values out of range, backwards ranges, bad steps, impossible dates, unknown zones and macros', () => {
    for (const [expr, zone] of [['* * * *', 'UTC'], ['60 * * * *', 'UTC'], ['* 24 * * *', 'UTC'], ['0 0 0 * *', 'UTC'], ['0 0 * 13 *', 'UTC'], ['0 0 * * 8', 'UTC'],
      ['10-5 * * * *', 'UTC'], ['*/0 * * * *', 'UTC'], ['0 0 30 2 *', 'UTC'], ['0 0 * * *', 'Mars/Olympus'], ['@fortnightly', 'UTC'], ['@every', 'UTC'], ['@every 0s', 'UTC'], ['@every 5x', 'UTC'], ['0 0 * foo *', 'UTC']]) {
      assert.throws(() => parseSchedule(expr!, 'plans[0].schedule', zone), (e) => isEbakError(e, 'USAGE') && e.message.startsWith('plans[0].schedule'), `${expr} ${zone}`);
    }
  });

  it('an expression that can run finds its run within a bounded search', () => {
    const started = Date.now();
    assert.equal(iso(parseSchedule('0 0 29 2 1', 'x', 'UTC').next(at('2024-03-01T00:00:00Z'))), '2025-02-03T00:00:00.000Z', 'OR rule: any Monday of February');
    assert.equal(iso(parseSchedule('59 23 31 12 *', 'x', 'Pacific/Kiritimati').next(at('2024-01-01T00:00:00Z'))), '2024-12-31T09:59:00.000Z');
    assert.ok(Date.now() - started < 5000);
  });
});
