/**
 * A plan's retention against its repository's retention lock (AWS Backup's
 * Vault Lock: docs/retention.md; docs/plans.md "Retention and the retention
 * lock"): a plan whose retention could forget a snapshot younger than the
 * lock's `min_days`, or keeps snapshots longer than its `max_days`, is
 * refused, by `plan validate` and before a run forgets anything. The lock's
 * own rules stay in src/retention/lock.ts; this module only compares a
 * forget policy with one.
 *
 * What a policy keeps, in days:
 * - every snapshot, for its `keep-within` (or `days`): a policy without one
 *   keeps by count only and may forget any snapshot, however young, so
 *   under a lock it must have one of at least `min_days` (a month counted
 *   as 28 days, a year as 365: the least they can be);
 * - at most, for its longest rule: a keep-within-* duration (a month 31
 *   days, a year 366), or a count rule's span (keep-hourly N: N hours,
 *   keep-daily N: N days, weekly 7N, monthly 31N, yearly 366N), none longer
 *   than `max_days`; "unlimited" (any count rule) is longer than any.
 *   keep-last N (by count alone) and keep-tag (by tag, as a hold) bound no
 *   time and are not counted.
 */
import type { Duration } from '../retention/duration.js';
import type { RetentionLock } from '../retention/lock.js';
import type { CountRule, ForgetPolicy, WithinRule } from '../retention/policy.js';

/** One way the policy breaks the lock: the policy field at fault and what is wrong. */
export interface LockViolation {
  field: string;
  message: string;
}

const SPAN_DAYS: Partial<Record<CountRule, number>> = { hourly: 1 / 24, daily: 1, weekly: 7, monthly: 31, yearly: 366 };
const COUNT_FIELDS: Record<CountRule, string> = { last: 'keep-last', hourly: 'keep-hourly', daily: 'keep-daily', weekly: 'keep-weekly', monthly: 'keep-monthly', yearly: 'keep-yearly' };
const WITHIN_FIELDS: Record<WithinRule | 'within', string> = {
  within: 'keep-within', withinHourly: 'keep-within-hourly', withinDaily: 'keep-within-daily', withinWeekly: 'keep-within-weekly',
  withinMonthly: 'keep-within-monthly', withinYearly: 'keep-within-yearly',
};

export function lockViolations(policy: ForgetPolicy, lock: RetentionLock): LockViolation[] {
  const out: LockViolation[] = [];
  const keepsAll = policy.within === undefined ? 0 : days(policy.within, 28, 365);
  if (keepsAll < lock.min_days) {
    out.push({
      field: policy.within === undefined ? 'retention' : 'retention.keep-within',
      message: `${policy.within === undefined ? 'keeps by count only, so it may forget snapshots of any age' : `keeps every snapshot only ${round(keepsAll)} days`}: the repository's retention lock keeps every snapshot ${lock.min_days} days (give keep-within or days of at least ${lock.min_days})`,
    });
  }
  if (lock.max_days === undefined) return out;
  for (const [field, span] of longest(policy)) {
    if (span > lock.max_days) out.push({ field: `retention.${field}`, message: `keeps snapshots ${span === Infinity ? 'without limit' : `up to ${round(span)} days`}: longer than the repository's retention lock allows (max ${lock.max_days} days)` });
  }
  return out;
}

/** Each rule that bounds how long the policy keeps a snapshot, with that span in days. */
function longest(policy: ForgetPolicy): [string, number][] {
  const spans: [string, number][] = [];
  for (const [rule, field] of Object.entries(WITHIN_FIELDS) as [WithinRule | 'within', string][]) {
    const d = policy[rule];
    if (d !== undefined) spans.push([field, days(d, 31, 366)]);
  }
  for (const [rule, field] of Object.entries(COUNT_FIELDS) as [CountRule, string][]) {
    const n = policy[rule];
    if (n === undefined || n === 0) continue;
    if (n < 0) spans.push([field, Infinity]);
    else if (SPAN_DAYS[rule] !== undefined) spans.push([field, n * SPAN_DAYS[rule]]);
  }
  return spans;
}

function days(d: Duration, monthDays: number, yearDays: number): number {
  return d.years * yearDays + d.months * monthDays + d.days + d.hours / 24;
}

const round = (n: number) => Math.round(n * 100) / 100;
