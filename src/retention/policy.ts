/**
 * Retention (src/retention): which snapshots a forget policy keeps, decided
 * exactly as restic 0.17+ decides (restic doc/060_forget.rst, "Removing
 * snapshots according to a policy"; docs/retention.md restates the rules).
 * This module is the policy itself, a pure function of the snapshots, the
 * policy, the clock and the time zone; plan.ts filters and groups
 * snapshots around it, and the forget command deletes what it removes.
 *
 * The rules, in the order they are evaluated for each snapshot, newest first:
 * - `tags`: a snapshot carrying every tag of one of the lists is kept
 *   (uncounted); the list [""] matches untagged snapshots.
 * - `within`: kept when its time is after "newest snapshot time minus the
 *   duration"; the newest ignores snapshots in the future.
 * - counted buckets `last`, `hourly`, `daily`, `weekly`, `monthly`,
 *   `yearly`: the first (newest) snapshot of each new hour/day/ISO week/
 *   month/year in local time is kept while the rule has count left; `last`
 *   puts every snapshot in a bucket of its own. -1 is unlimited. A rule
 *   with count left when the oldest snapshot is reached keeps that one too
 *   ("oldest daily snapshot").
 * - `within*` buckets: like the counted ones but uncounted, for snapshots
 *   inside the duration; they also keep the oldest such snapshot.
 * A snapshot kept by any rule is kept, with every rule that matched.
 */
import { Calendar, isoWeek, type Wall } from './calendar.js';
import { formatDuration, isZeroDuration, type Duration } from './duration.js';

export type CountRule = 'last' | 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly';
export type WithinRule = 'withinHourly' | 'withinDaily' | 'withinWeekly' | 'withinMonthly' | 'withinYearly';

/** Counts: 0 (or absent) turns a rule off, -1 keeps every bucket. Durations: zero turns a rule off. */
export type ForgetPolicy = Partial<Record<CountRule, number> & Record<WithinRule | 'within', Duration>> & {
  /** Keep snapshots carrying all tags of any one list. */
  tags?: readonly (readonly string[])[];
};

/** What the policy reads of a snapshot. */
export interface PolicySnapshot {
  /** ISO 8601. */
  readonly time: string;
  readonly tags: readonly string[];
}

export interface Decision<T> {
  snapshot: T;
  keep: boolean;
  /** The rules that keep it, in restic's words ("daily snapshot", "within 1y2m"); empty when removed. */
  reasons: string[];
  /** Why a retention lock or legal hold keeps it although the policy alone would not (src/retention/lock.ts). */
  protectedBy?: string;
}

export interface PolicyOptions {
  /** The clock (ms since the epoch); snapshots after it never count as the newest. */
  now?: number;
  calendar?: Calendar;
}

type Bucketer = (w: Wall, nr: number) => number;

const BUCKETS: readonly { count: CountRule; within?: WithinRule; name: string; of: Bucketer }[] = [
  { count: 'last', name: 'last', of: (_w, nr) => nr },
  { count: 'hourly', within: 'withinHourly', name: 'hourly', of: (w) => ((w.year * 100 + w.month) * 100 + w.day) * 100 + w.hour },
  { count: 'daily', within: 'withinDaily', name: 'daily', of: (w) => (w.year * 100 + w.month) * 100 + w.day },
  { count: 'weekly', within: 'withinWeekly', name: 'weekly', of: (w) => {
    const iw = isoWeek(w);
    return iw.year * 100 + iw.week;
  } },
  { count: 'monthly', within: 'withinMonthly', name: 'monthly', of: (w) => w.year * 100 + w.month },
  { count: 'yearly', within: 'withinYearly', name: 'yearly', of: (w) => w.year },
];

/** True when no rule can keep anything (restic refuses to apply such a policy). */
export function isEmptyPolicy(p: ForgetPolicy): boolean {
  return (p.tags ?? []).length === 0 && isZeroDuration(p.within) &&
    BUCKETS.every((b) => !p[b.count] && (!b.within || isZeroDuration(p[b.within])));
}

/** Decides every snapshot of one group; the result is newest first (equal times keep their given order). */
export function applyPolicy<T extends PolicySnapshot>(list: readonly T[], policy: ForgetPolicy, opts: PolicyOptions = {}): Decision<T>[] {
  const calendar = opts.calendar ?? new Calendar();
  const dated = list.map((snapshot) => ({ snapshot, ms: Date.parse(snapshot.time) })).sort((a, b) => b.ms - a.ms);
  const newest = newestTime(dated.map((d) => d.ms), opts.now ?? Date.now());
  const cutoff = (d: Duration | undefined) => (isZeroDuration(d) ? undefined : newest === undefined ? -Infinity : calendar.before(newest, d!));
  const counted = BUCKETS.map((b) => ({ ...b, left: policy[b.count] ?? 0, last: undefined as number | undefined }));
  const within = BUCKETS.filter((b) => b.within).map((b) => ({ ...b, duration: policy[b.within!]!, cutoff: cutoff(policy[b.within!]), last: undefined as number | undefined }));
  const withinAll = cutoff(policy.within);
  return dated.map(({ snapshot, ms }, nr) => {
    const wall = calendar.wall(ms);
    const oldest = nr === dated.length - 1;
    const reasons = (policy.tags ?? []).filter((l) => hasTags(snapshot.tags, l)).map((l) => `has tags [${l.join(', ')}]`);
    if (withinAll !== undefined && ms > withinAll) reasons.push(`within ${formatDuration(policy.within!)}`);
    for (const b of counted) {
      if (b.left === 0 || b.left < -1) continue;
      const prefix = newBucket(b, b.of(wall, nr), oldest);
      if (prefix === undefined) continue;
      if (b.left > 0) b.left--;
      reasons.push(`${prefix}${b.name} snapshot`);
    }
    for (const b of within) {
      if (b.cutoff === undefined || !(ms > b.cutoff)) continue;
      const prefix = newBucket(b, b.of(wall, nr), oldest);
      if (prefix !== undefined) reasons.push(`${prefix}${b.name} within ${formatDuration(b.duration)}`);
    }
    return { snapshot, keep: reasons.length > 0, reasons };
  });
}

/**
 * Moves a bucket rule on to `value`. Returns the reason's prefix when the
 * rule keeps the snapshot: "" for a new bucket, "oldest " for the group's
 * oldest snapshot in a bucket already kept; undefined when it does not.
 */
function newBucket(b: { last: number | undefined }, value: number, oldest: boolean): string | undefined {
  if (value !== b.last) {
    b.last = value;
    return '';
  }
  return oldest ? 'oldest ' : undefined;
}

/** The newest snapshot time not in the future (restic's findLatestTimestamp). */
function newestTime(times: readonly number[], now: number): number | undefined {
  let newest: number | undefined;
  for (const t of times) if (t < now && (newest === undefined || t > newest)) newest = t;
  return newest;
}

/** restic's HasTags: every tag of `list` is on the snapshot; "" matches a snapshot without tags. */
export function hasTags(tags: readonly string[], list: readonly string[]): boolean {
  for (const t of list) {
    if (t === '' && tags.length === 0) return true;
    if (!tags.includes(t)) return false;
  }
  return true;
}
