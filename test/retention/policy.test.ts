/**
 * The forget policy, table-driven. Every expected outcome was worked out by
 * hand from restic's documented rules (restic doc/060_forget.rst, "Removing
 * snapshots according to a policy", and the 0.17 `forget --help` text); the
 * rule each case exercises is cited beside it. A case lists every snapshot
 * and the reasons that keep it ([] = removed); decisions come newest first.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isEbakError } from '../../src/errors.js';
import { Calendar, isoWeek } from '../../src/retention/calendar.js';
import { formatDuration, parseDuration, ZERO_DURATION } from '../../src/retention/duration.js';
import { applyPolicy, isEmptyPolicy, type ForgetPolicy } from '../../src/retention/policy.js';

const d = (s: string) => parseDuration(s, '--keep-within');

interface Case {
  name: string;
  /** IANA zone the buckets use. */
  tz: string;
  /** The clock; default long after every snapshot. */
  now?: string;
  policy: ForgetPolicy;
  /** time (UTC, ISO) or [time, tags] → reasons it is kept with; [] means removed. */
  expect: [string | [string, string[]], string[]][];
}

const CASES: Case[] = [
  {
    // Doc example: one backup every Sunday for 12 weeks; "forget --keep-daily 4 will keep the last four
    // snapshots, for the last four Sundays, and remove the other snapshots".
    name: 'keep-daily 4 over twelve Sundays (the documented example)',
    tz: 'UTC',
    policy: { daily: 4 },
    expect: ['11-17', '11-10', '11-03', '10-27', '10-20', '10-13', '10-06', '09-29', '09-22', '09-15', '09-08', '09-01']
      .map((md, i) => [`2019-${md}T11:00:00.000Z`, i < 4 ? ['daily snapshot'] : []]),
  },
  {
    // "--keep-last n keep the n last (most recent) snapshots": each snapshot is its own bucket, so two in the
    // same minute are two snapshots; the newest come first.
    name: 'keep-last 2: two snapshots in the same minute are both the last two',
    tz: 'UTC',
    policy: { last: 2 },
    expect: [['2024-05-01T10:00:40.000Z', ['last snapshot']], ['2024-05-01T10:00:05.000Z', ['last snapshot']], ['2024-05-01T09:00:00.000Z', []]],
  },
  {
    // "--keep-hourly n: for the last n hours which have one or more snapshots, keep only the most recent one for
    // each hour": of two in the same minute the later is the hour's snapshot. keep-last is counted too, and a
    // snapshot kept by any option is kept ("the results are ORed"). The hourly count has one left when the
    // oldest is reached, and 09:00 opens a new hour anyway.
    name: 'ties in one hour: the most recent wins; last and hourly are ORed',
    tz: 'UTC',
    policy: { last: 1, hourly: 2 },
    expect: [['2024-05-01T10:00:40.000Z', ['last snapshot', 'hourly snapshot']], ['2024-05-01T10:00:05.000Z', []], ['2024-05-01T09:00:00.000Z', ['hourly snapshot']]],
  },
  {
    // "If there are not enough snapshots to keep one for each duration related --keep-{within-,}* option, the
    // oldest snapshot is kept additionally and marked as oldest". One day, three snapshots, three daily counts:
    // 18:00 is the day's snapshot, 12:00 is not, 08:00 is the oldest with counts left.
    name: 'the oldest snapshot is kept while a count is left',
    tz: 'UTC',
    policy: { daily: 3 },
    expect: [['2024-05-01T18:00:00.000Z', ['daily snapshot']], ['2024-05-01T12:00:00.000Z', []], ['2024-05-01T08:00:00.000Z', ['oldest daily snapshot']]],
  },
  {
    // "A value of unlimited will be interpreted as forever, i.e. keep all": the newest of every day, and (the
    // count never running out) the oldest snapshot.
    name: 'unlimited (-1) daily keeps each day, and the oldest',
    tz: 'UTC',
    policy: { daily: -1 },
    expect: [
      ['2024-01-03T22:00:00.000Z', ['daily snapshot']], ['2024-01-03T08:00:00.000Z', []], ['2024-01-02T10:00:00.000Z', ['daily snapshot']],
      ['2024-01-01T20:00:00.000Z', ['daily snapshot']], ['2024-01-01T09:00:00.000Z', ['oldest daily snapshot']],
    ],
  },
  {
    // Irregular history. "--keep-daily/monthly/yearly n: for the last n days/months/years which have one or more
    // snapshots, keep only the most recent one": 03-01 opens a day, a month and a year; 02-29 a day and a month
    // (daily runs out); 01-20 the last month; 2023-11-30 the last year; every count is spent before the oldest.
    name: 'irregular history: daily 2, monthly 3, yearly 2',
    tz: 'UTC',
    policy: { daily: 2, monthly: 3, yearly: 2 },
    expect: [
      ['2024-03-01T00:00:00.000Z', ['daily snapshot', 'monthly snapshot', 'yearly snapshot']],
      ['2024-02-29T12:00:00.000Z', ['daily snapshot', 'monthly snapshot']],
      ['2024-01-20T08:00:00.000Z', ['monthly snapshot']],
      ['2024-01-02T08:00:00.000Z', []], ['2024-01-01T23:59:00.000Z', []], ['2024-01-01T00:30:00.000Z', []],
      ['2023-11-30T08:00:00.000Z', ['yearly snapshot']],
      ['2023-06-15T08:00:00.000Z', []],
    ],
  },
  {
    // "Weeks are Monday 00:00 to Sunday 23:59" (ISO weeks): Sunday 2021-01-03 is in 2020's week 53 with
    // 2020-12-31, Monday 2021-01-04 opens 2021's week 1; years are calendar years, so 2020-12-31 is 2020's.
    name: 'ISO weeks across a new year; yearly uses the calendar year',
    tz: 'UTC',
    policy: { weekly: 2, yearly: 2 },
    expect: [
      ['2021-01-04T12:00:00.000Z', ['weekly snapshot', 'yearly snapshot']], ['2021-01-03T12:00:00.000Z', ['weekly snapshot']],
      ['2020-12-31T12:00:00.000Z', ['yearly snapshot']], ['2020-12-28T12:00:00.000Z', []],
    ],
  },
  {
    // "All calendar related options work on natural time boundaries", in local time. New York across the spring
    // DST change (2024-03-10 02:00 EST → 03:00 EDT): local days Mar 11 (00:30 EDT), Mar 10 (23:30 EDT … 00:30
    // EST), Mar 9 (23:30 EST = 04:30Z on the 10th).
    name: 'daily in America/New_York across the spring DST change',
    tz: 'America/New_York',
    policy: { daily: 3 },
    expect: [
      ['2024-03-11T04:30:00.000Z', ['daily snapshot']], ['2024-03-11T03:30:00.000Z', ['daily snapshot']],
      ['2024-03-10T07:30:00.000Z', []], ['2024-03-10T06:30:00.000Z', []], ['2024-03-10T05:30:00.000Z', []],
      ['2024-03-10T04:30:00.000Z', ['daily snapshot']],
    ],
  },
  {
    // The same six snapshots in UTC: days Mar 11 and Mar 10 only, so one count is left for the oldest.
    name: 'the same history in UTC buckets differently',
    tz: 'UTC',
    policy: { daily: 3 },
    expect: [
      ['2024-03-11T04:30:00.000Z', ['daily snapshot']], ['2024-03-11T03:30:00.000Z', []],
      ['2024-03-10T07:30:00.000Z', ['daily snapshot']], ['2024-03-10T06:30:00.000Z', []], ['2024-03-10T05:30:00.000Z', []],
      ['2024-03-10T04:30:00.000Z', ['oldest daily snapshot']],
    ],
  },
  {
    // "hours :00 to :59" on the local clock: at the autumn change (2024-11-03 02:00 EDT → 01:00 EST) 01:10 EDT
    // (05:10Z) and 01:10/01:50 EST (06:10Z, 06:50Z) share the local hour 1, so 05:10Z is not a new hour; it is
    // kept only as the oldest with a count left.
    name: 'hourly in America/New_York across the autumn DST change',
    tz: 'America/New_York',
    policy: { hourly: 3 },
    expect: [
      ['2024-11-03T07:20:00.000Z', ['hourly snapshot']], ['2024-11-03T06:50:00.000Z', ['hourly snapshot']],
      ['2024-11-03T06:10:00.000Z', []], ['2024-11-03T05:10:00.000Z', ['oldest hourly snapshot']],
    ],
  },
  {
    // In UTC those are hours 7, 6, 6, 5: 05:10Z opens hour 5 and takes the last count.
    name: 'the autumn history in UTC',
    tz: 'UTC',
    policy: { hourly: 3 },
    expect: [
      ['2024-11-03T07:20:00.000Z', ['hourly snapshot']], ['2024-11-03T06:50:00.000Z', ['hourly snapshot']],
      ['2024-11-03T06:10:00.000Z', []], ['2024-11-03T05:10:00.000Z', ['hourly snapshot']],
    ],
  },
  {
    // Asia/Kolkata is UTC+05:30: 19:00Z on May 31 is 00:30 on June 1, so June and May are two months.
    name: 'monthly in Asia/Kolkata (+05:30)',
    tz: 'Asia/Kolkata',
    policy: { monthly: 2 },
    expect: [['2024-05-31T19:00:00.000Z', ['monthly snapshot']], ['2024-05-31T18:00:00.000Z', ['monthly snapshot']], ['2024-05-31T17:00:00.000Z', []]],
  },
  {
    // In UTC all three are May: one month, and the oldest with a count left.
    name: 'the Kolkata history in UTC',
    tz: 'UTC',
    policy: { monthly: 2 },
    expect: [['2024-05-31T19:00:00.000Z', ['monthly snapshot']], ['2024-05-31T18:00:00.000Z', []], ['2024-05-31T17:00:00.000Z', ['oldest monthly snapshot']]],
  },
  {
    // "--keep-within duration keep all snapshots having a timestamp within the specified duration of the latest
    // snapshot" — strictly after newest minus 7d; "duration related options ignore snapshots with a timestamp in
    // the future ... and these snapshots will hence not be removed": 2030's snapshot is not the newest, and kept.
    name: 'keep-within 7d: relative to the newest non-future snapshot, boundary excluded',
    tz: 'UTC',
    now: '2024-02-01T00:00:00.000Z',
    policy: { within: d('7d') },
    expect: [
      ['2030-01-01T00:00:00.000Z', ['within 7d']], ['2024-01-10T12:00:00.000Z', ['within 7d']], ['2024-01-05T00:00:00.000Z', ['within 7d']],
      ['2024-01-03T12:00:01.000Z', ['within 7d']], ['2024-01-03T12:00:00.000Z', []],
    ],
  },
  {
    // Durations are calendar amounts (restic applies them with Go's AddDate): one month before March 31 is
    // "February 31", i.e. March 2 in 2024. A 30-day reading would keep 03-01 too.
    name: 'keep-within 1m from March 31 reaches back to March 2',
    tz: 'UTC',
    policy: { within: d('1m') },
    expect: [['2024-03-31T12:00:00.000Z', ['within 1m']], ['2024-03-02T13:00:00.000Z', ['within 1m']], ['2024-03-02T12:00:00.000Z', []], ['2024-03-01T12:00:00.000Z', []]],
  },
  {
    // A day back on the local clock across the spring change is 23 hours: from 12:00 EDT Mar 10 (16:00Z) to 12:00
    // EST Mar 9 (17:00Z), so 16:30Z on Mar 9 is outside 1d but inside 24h (and another local hour: a new bucket).
    name: 'keep-within 1d is a local calendar day (23 h across spring DST); 24h is 24 h',
    tz: 'America/New_York',
    policy: { within: d('1d'), withinHourly: d('24h') },
    expect: [['2024-03-10T16:00:00.000Z', ['within 1d', 'hourly within 24h']], ['2024-03-09T16:30:00.000Z', ['hourly within 24h']]],
  },
  {
    // "--keep-within-daily duration keep all daily snapshots made within the specified duration of the latest
    // snapshot": days Jan 10, 9, 8 lie after Jan 7 22:00; Jan 2 and Jan 1 are outside, so the oldest is not kept.
    name: 'keep-within-daily 3d',
    tz: 'UTC',
    policy: { withinDaily: d('3d') },
    expect: [
      ['2024-01-10T22:00:00.000Z', ['daily within 3d']], ['2024-01-10T10:00:00.000Z', []], ['2024-01-09T22:00:00.000Z', ['daily within 3d']],
      ['2024-01-08T22:00:00.000Z', ['daily within 3d']], ['2024-01-02T22:00:00.000Z', []], ['2024-01-01T22:00:00.000Z', []],
    ],
  },
  {
    // "If there are not enough snapshots to keep one for each duration related --keep-{within-,}* option, the
    // oldest snapshot is kept": here it shares Jan 10 with the newest and lies within the duration.
    name: 'keep-within-weekly keeps the oldest within the duration',
    tz: 'UTC',
    policy: { withinWeekly: d('1m') },
    expect: [['2024-01-10T22:00:00.000Z', ['weekly within 1m']], ['2024-01-10T10:00:00.000Z', []], ['2024-01-09T10:00:00.000Z', ['oldest weekly within 1m']]],
  },
  {
    // "--keep-tag keep all snapshots which have all tags specified by this option (can be specified multiple
    // times)"; "--keep-tag '' will match untagged snapshots only". Tags are not counted.
    name: 'keep-tag: all tags of one list; "" for untagged',
    tz: 'UTC',
    policy: { tags: [['a', 'b'], ['']] },
    expect: [
      [['2024-01-04T00:00:00.000Z', ['b', 'a', 'c']], ['has tags [a, b]']], [['2024-01-03T00:00:00.000Z', []], ['has tags []']],
      [['2024-01-02T00:00:00.000Z', ['a']], []], [['2024-01-01T00:00:00.000Z', ['a', 'b']], ['has tags [a, b]']],
    ],
  },
  {
    // "The processed snapshots are evaluated against all --keep-* options ... the most recent snapshot on a Sunday
    // would match both hourly, daily and weekly": every rule that matches is named, in restic's order (tags,
    // within, last … yearly, within-buckets).
    name: 'one snapshot matching every rule names each',
    tz: 'UTC',
    policy: { last: 1, hourly: 1, daily: 1, weekly: 1, monthly: 1, yearly: 1, within: d('1h'), withinYearly: d('1y'), tags: [['x']] },
    expect: [[['2024-06-09T10:00:00.000Z', ['x']], ['has tags [x]', 'within 1h', 'last snapshot', 'hourly snapshot', 'daily snapshot', 'weekly snapshot', 'monthly snapshot', 'yearly snapshot', 'yearly within 1y']]],
  },
];

function run(c: Case) {
  const snapshots = [...c.expect].reverse().map(([s], i) => (typeof s === 'string' ? { id: `s${i}`, time: s, tags: [] as string[] } : { id: `s${i}`, time: s[0], tags: s[1] }));
  return applyPolicy(snapshots, c.policy, { calendar: new Calendar(c.tz), now: Date.parse(c.now ?? '2099-01-01T00:00:00Z') });
}

describe('forget policy: restic rules, by hand', () => {
  it(`has ${CASES.length} cases`, () => assert.equal(CASES.length, 20));
  for (const c of CASES) {
    it(`${c.name} (${c.tz})`, () => {
      const got = run(c).map((x) => [x.snapshot.time, x.keep, x.reasons]);
      const want = c.expect.map(([s, reasons]) => [typeof s === 'string' ? s : s[0], reasons.length > 0, reasons]);
      assert.deepEqual(got, want);
    });
  }

  it('two snapshots at the very same time keep the order they were given in', () => {
    const list = [{ id: 'a', time: '2024-01-01T00:00:00.000Z', tags: [] }, { id: 'b', time: '2024-01-01T00:00:00.000Z', tags: [] }];
    assert.deepEqual(applyPolicy(list, { daily: 1 }, { calendar: new Calendar('UTC') }).map((x) => [x.snapshot.id, x.keep]), [['a', true], ['b', false]]);
  });

  it('an empty list decides nothing', () => assert.deepEqual(applyPolicy([], { last: 1 }), []));

  it('when every snapshot is in the future, keep-within keeps them all', () => {
    const list = [{ time: '2030-01-02T00:00:00.000Z', tags: [] }, { time: '2030-01-01T00:00:00.000Z', tags: [] }];
    const got = applyPolicy(list, { within: d('1d') }, { calendar: new Calendar('UTC'), now: Date.parse('2024-01-01T00:00:00Z') });
    assert.deepEqual(got.map((x) => x.keep), [true, true]);
  });

  it('the buckets use the process time zone (TZ) unless a calendar is given', () => {
    const saved = process.env.TZ;
    const kolkata = CASES.find((c) => c.tz === 'Asia/Kolkata')!;
    try {
      process.env.TZ = 'Asia/Kolkata';
      const list = kolkata.expect.map(([s]) => ({ time: s as string, tags: [] }));
      assert.deepEqual(applyPolicy(list, kolkata.policy).map((x) => x.reasons), kolkata.expect.map(([, r]) => r));
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
});

describe('policy emptiness', () => {
  it('no rule, zero counts and zero durations are empty; any rule is not', () => {
    assert.ok(isEmptyPolicy({}));
    assert.ok(isEmptyPolicy({ last: 0, within: ZERO_DURATION, withinDaily: d(''), tags: [] }));
    for (const p of [{ last: 1 }, { yearly: -1 }, { within: d('1h') }, { withinMonthly: d('1y') }, { tags: [['']] }] as ForgetPolicy[]) assert.ok(!isEmptyPolicy(p), JSON.stringify(p));
  });
});

describe('durations and weeks', () => {
  it('parses restic durations in any order and renders them restic style', () => {
    assert.deepEqual(d('1y2m3d4h'), { years: 1, months: 2, days: 3, hours: 4 });
    assert.deepEqual(d(' 3d1y '), { years: 1, months: 0, days: 3, hours: 0 });
    assert.deepEqual(d(''), ZERO_DURATION);
    assert.equal(formatDuration(d('4h2m')), '2m4h');
  });

  it('refuses bad durations with USAGE', () => {
    for (const bad of ['1w', '5', '-1d', '1d1d', 'd', '1.5d', '1d x', '99999999999999999999d'])
      assert.throws(() => d(bad), (e) => isEbakError(e, 'USAGE'), bad);
  });

  it('ISO weeks at year boundaries', () => {
    const cases: [number, number, number, number, number][] = [
      [2020, 12, 31, 2020, 53], [2021, 1, 3, 2020, 53], [2021, 1, 4, 2021, 1], [2019, 12, 30, 2020, 1], [2024, 12, 29, 2024, 52], [2024, 12, 30, 2025, 1], [2027, 1, 1, 2026, 53],
    ];
    for (const [year, month, day, y, week] of cases) assert.deepEqual(isoWeek({ year, month, day }), { year: y, week }, `${year}-${month}-${day}`);
  });
});
