/**
 * Retention locks and legal holds (issue 15; docs/retention.md "Retention
 * lock and legal holds"): the rules, as pure functions of the lock, the
 * holds and the clock, shared by the client (local mode enforces them
 * itself) and the vault (vault mode: the enclave decides, server/retention.ts).
 *
 * The rules are AWS Backup Vault Lock's (MinRetentionDays, MaxRetentionDays,
 * ChangeableForDays, default 3, 0 allowed):
 * - a snapshot younger than `min_days` cannot be forgotten; `max_days` is
 *   only reported (`check`): a snapshot older than it is kept too long;
 * - a governance lock can be changed or removed by an authorized user at any
 *   time (vault mode: a password step-up; local mode: anyone with the key);
 * - a compliance lock likewise until `changeable_until`; after it nobody can
 *   remove or shorten it. What only adds protection stays allowed: a longer
 *   `min_days`, a `max_days` added or raised, governance → compliance.
 * - a legal hold keeps its snapshot until the hold is removed (removing one
 *   is a change that needs authorization, as a governance change).
 */
import { EbakError } from '../errors.js';

export type LockMode = 'governance' | 'compliance';
export const LOCK_MODES: readonly LockMode[] = ['governance', 'compliance'];

export interface RetentionLock {
  mode: LockMode;
  min_days: number;
  max_days?: number;
  /** ISO 8601: when the lock was first set (kept by later changes). */
  set_at: string;
  /** ISO 8601: until when a compliance lock may still be removed or shortened. */
  changeable_until: string;
}

export interface LegalHold {
  /** The full snapshot id. */
  snapshot: string;
  reason: string;
  added_at: string;
}

export interface LockRequest {
  mode: LockMode;
  minDays: number;
  maxDays?: number | undefined;
  changeableForDays: number;
}

/** `--changeable-for-days` when not given (the default; 0 freezes a compliance lock at once). */
export const DEFAULT_CHANGEABLE_DAYS = 3;
export const MAX_DAYS = 36500;
export const MAX_HOLDS = 1000;
export const MAX_REASON = 200;
const DAY_MS = 86_400_000;

/** What a change needs: nothing (it only adds protection), or authorization (it weakens a lock that still allows it). */
export type ChangeNeed = 'none' | 'authorization';

/** The request's problems, all refused with USAGE: days out of range, max below min. */
export function checkLockRequest(r: LockRequest): void {
  const days = (name: string, v: number, min: number) => {
    if (!Number.isSafeInteger(v) || v < min || v > MAX_DAYS) throw new EbakError('USAGE', `${name} must be a whole number of days, ${min}..${MAX_DAYS}`);
  };
  if (!LOCK_MODES.includes(r.mode)) throw new EbakError('USAGE', '--mode must be governance or compliance');
  days('--min-days', r.minDays, 1);
  days('--changeable-for-days', r.changeableForDays, 0);
  if (r.maxDays === undefined) return;
  days('--max-days', r.maxDays, 1);
  if (r.maxDays < r.minDays) throw new EbakError('USAGE', `--max-days ${r.maxDays} is below --min-days ${r.minDays}`);
}

/** Whether a compliance lock's changeable period is over at `now` (the instant itself is already over). */
export function isFrozen(lock: RetentionLock, now: Date): boolean {
  return lock.mode === 'compliance' && now.getTime() >= Date.parse(lock.changeable_until);
}

/** True when `next` protects at least as much as `cur`. */
function onlyAdds(cur: RetentionLock, next: LockRequest): boolean {
  const max = cur.max_days === undefined || (next.maxDays !== undefined && next.maxDays >= cur.max_days);
  return next.minDays >= cur.min_days && max && !(cur.mode === 'compliance' && next.mode === 'governance');
}

/**
 * The lock after `req` at `now`, and what the change needs; a change a
 * frozen compliance lock forbids is EbakError('RETENTION'). A change of a
 * frozen lock keeps its dates; any other starts a new changeable period.
 */
export function applyLock(cur: RetentionLock | undefined, req: LockRequest, now: Date): { lock: RetentionLock; needs: ChangeNeed } {
  checkLockRequest(req);
  const fields = { mode: req.mode, min_days: req.minDays, ...(req.maxDays === undefined ? {} : { max_days: req.maxDays }) };
  if (!cur) return { lock: { ...fields, set_at: now.toISOString(), changeable_until: plusDays(now, req.changeableForDays).toISOString() }, needs: 'none' };
  const adds = onlyAdds(cur, req);
  if (isFrozen(cur, now)) {
    if (!adds) throw frozen(cur, 'shortened or weakened');
    return { lock: { ...fields, set_at: cur.set_at, changeable_until: cur.changeable_until }, needs: 'none' };
  }
  return { lock: { ...fields, set_at: cur.set_at, changeable_until: plusDays(now, req.changeableForDays).toISOString() }, needs: adds ? 'none' : 'authorization' };
}

/** What removing `cur` needs at `now` (EbakError('RETENTION') once a compliance lock is frozen). */
export function removeLock(cur: RetentionLock | undefined, now: Date): ChangeNeed {
  if (!cur) throw new EbakError('NOT_FOUND', 'there is no retention lock to remove');
  if (isFrozen(cur, now)) throw frozen(cur, 'removed');
  return 'authorization';
}

function frozen(cur: RetentionLock, what: string): EbakError {
  return new EbakError('RETENTION', `the compliance retention lock (min ${cur.min_days} days) cannot be ${what}: its changeable period ended ${cur.changeable_until}`, {
    hint: 'a compliance lock after its changeable period only accepts a longer --min-days or a --max-days added or raised',
  });
}

/** The holds after adding one on `snapshot` (a full id); a second hold on it replaces the first's reason. */
export function addHold(holds: readonly LegalHold[], snapshot: string, reason: string, now: Date): LegalHold[] {
  checkReason(reason);
  const rest = holds.filter((h) => h.snapshot !== snapshot);
  if (rest.length >= MAX_HOLDS) throw new EbakError('USAGE', `at most ${MAX_HOLDS} legal holds`);
  return [...rest, { snapshot, reason, added_at: now.toISOString() }];
}

/** The holds without the one on `snapshot`; NOT_FOUND when there is none. */
export function removeHold(holds: readonly LegalHold[], snapshot: string): LegalHold[] {
  if (!holds.some((h) => h.snapshot === snapshot)) throw new EbakError('NOT_FOUND', `no legal hold on snapshot ${snapshot.slice(0, 8)}`);
  return holds.filter((h) => h.snapshot !== snapshot);
}

export function checkReason(reason: string): void {
  if (reason.length === 0 || reason.length > MAX_REASON || !/^[\x20-\x7e\u00a0-\uffff]+$/.test(reason))
    throw new EbakError('USAGE', `--reason must be 1..${MAX_REASON} printable characters`);
}

/**
 * Why `snapshot` may not be forgotten at `now`, or undefined. `time` is its
 * age's start: the snapshot's own time in local mode, the time the vault
 * first saw it in vault mode. A hold is named before the lock.
 */
export function protectedReason(snapshot: { id: string; time: string }, lock: RetentionLock | undefined, holds: readonly LegalHold[], now: Date): string | undefined {
  const hold = holds.find((h) => h.snapshot === snapshot.id);
  if (hold) return `legal hold: ${hold.reason}`;
  if (!lock) return undefined;
  const until = lockedUntil(snapshot.time, lock, now);
  return until.getTime() > now.getTime() ? `retention lock until ${stamp(until)}` : undefined;
}

/** What deciding protection needs: the lock and holds, the clock, and (vault mode) when the vault first saw each snapshot. */
export interface RetentionFacts {
  lock: RetentionLock | undefined;
  holds: readonly LegalHold[];
  now: Date;
  /** Vault mode: snapshot id → the vault's first sight of it; an id missing counts from `now`. Absent: the snapshot's own time. */
  seen?: ReadonlyMap<string, string>;
}

/** protectedReason with the snapshot's age taken as the facts say. */
export function reasonFor(f: RetentionFacts, s: { id: string; time: string }): string | undefined {
  const time = f.seen ? (f.seen.get(s.id) ?? f.now.toISOString()) : s.time;
  return protectedReason({ id: s.id, time }, f.lock, f.holds, f.now);
}

/** When a snapshot of `time` leaves the lock's minimum (an unreadable time counts as `now`: kept). */
export function lockedUntil(time: string, lock: RetentionLock, now: Date): Date {
  const t = Date.parse(time);
  return plusDays(Number.isNaN(t) ? now : new Date(t), lock.min_days);
}

/** True when a snapshot of `time` is older than the lock's `max_days` at `now`. */
export function pastMaxDays(time: string, lock: RetentionLock | undefined, now: Date): boolean {
  if (lock?.max_days === undefined) return false;
  const t = Date.parse(time);
  return !Number.isNaN(t) && plusDays(new Date(t), lock.max_days).getTime() < now.getTime();
}

/** ISO 8601 to the second, UTC. */
export const stamp = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

function plusDays(d: Date, days: number): Date {
  return new Date(d.getTime() + days * DAY_MS);
}
