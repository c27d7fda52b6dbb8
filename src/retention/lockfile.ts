/**
 * The retention state as bytes (docs/format.md "Retention"): the payload of
 * a local repository's retention object, and the shapes the vault's record
 * and protocol carry. Strict: a version this build does not know is
 * UNSUPPORTED_VERSION, any other deviation CORRUPT, so a damaged object never
 * reads as "no lock".
 */
import { EbakError } from '../errors.js';
import { LOCK_MODES, MAX_DAYS, MAX_HOLDS, MAX_REASON, type LegalHold, type RetentionLock } from './lock.js';

export const RETENTION_VERSION = 1;

export interface RetentionState {
  /** Grows by one with every change: of several objects, the highest wins. */
  seq: number;
  lock: RetentionLock | undefined;
  holds: LegalHold[];
}

export const emptyRetention = (): RetentionState => ({ seq: 0, lock: undefined, holds: [] });

/** `{"version":1,"seq":…,"lock":{…}|null,"holds":[…]}`, fields in this order. */
export function encodeRetention(s: RetentionState): Buffer {
  return Buffer.from(JSON.stringify({ version: RETENTION_VERSION, seq: s.seq, lock: s.lock ? lockJson(s.lock) : null, holds: s.holds.map(holdJson) }));
}

export function decodeRetention(payload: Buffer, what: string): RetentionState {
  let v: unknown;
  try {
    v = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new EbakError('CORRUPT', `${what}: retention object is not valid JSON`);
  }
  const o = v as Record<string, unknown> | null;
  if (typeof o !== 'object' || o === null || o.version !== RETENTION_VERSION)
    throw new EbakError('UNSUPPORTED_VERSION', `${what}: retention object version ${JSON.stringify((o as { version?: unknown } | null)?.version)} is not supported here`);
  const bad = (why: string) => new EbakError('CORRUPT', `${what}: ${why}`);
  if (!sameKeys(o, ['version', 'seq', 'lock', 'holds'])) throw bad('retention object has unknown or missing fields');
  if (!Number.isSafeInteger(o.seq) || (o.seq as number) < 1) throw bad('seq must be a positive integer');
  const lock = o.lock === null ? undefined : readLock(o.lock);
  if (lock === null) throw bad('invalid lock');
  const holds = readHolds(o.holds);
  if (!holds) throw bad('invalid holds');
  return { seq: o.seq as number, lock, holds };
}

/** A lock as JSON carries it, or null when it breaks a rule. */
export function readLock(v: unknown): RetentionLock | null {
  const o = v as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return null;
  const keys = ['mode', 'min_days', ...('max_days' in o ? ['max_days'] : []), 'set_at', 'changeable_until'];
  const days = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 1 && (x as number) <= MAX_DAYS;
  const ok = sameKeys(o, keys) && LOCK_MODES.includes(o.mode as never) && days(o.min_days) && (!('max_days' in o) || (days(o.max_days) && (o.max_days as number) >= (o.min_days as number))) &&
    isTime(o.set_at) && isTime(o.changeable_until);
  return ok ? lockJson(o as unknown as RetentionLock) : null;
}

/** Holds as JSON carries them (at most MAX_HOLDS, one per snapshot), or null. */
export function readHolds(v: unknown): LegalHold[] | null {
  if (!Array.isArray(v) || v.length > MAX_HOLDS) return null;
  const out: LegalHold[] = [];
  for (const h of v as Record<string, unknown>[]) {
    const ok = typeof h === 'object' && h !== null && sameKeys(h, ['snapshot', 'reason', 'added_at']) && typeof h.snapshot === 'string' && /^[0-9a-f]{64}$/.test(h.snapshot) &&
      typeof h.reason === 'string' && h.reason.length >= 1 && h.reason.length <= MAX_REASON && isTime(h.added_at);
    if (!ok || out.some((x) => x.snapshot === h.snapshot)) return null;
    out.push(holdJson(h as unknown as LegalHold));
  }
  return out;
}

/** The lock's fields in their fixed order. */
export function lockJson(l: RetentionLock): RetentionLock {
  return { mode: l.mode, min_days: l.min_days, ...(l.max_days === undefined ? {} : { max_days: l.max_days }), set_at: l.set_at, changeable_until: l.changeable_until };
}

const holdJson = (h: LegalHold): LegalHold => ({ snapshot: h.snapshot, reason: h.reason, added_at: h.added_at });

function sameKeys(o: object, keys: readonly string[]): boolean {
  const have = Object.keys(o);
  return have.length === keys.length && keys.every((k) => have.includes(k));
}

const isTime = (x: unknown) => typeof x === 'string' && x.length <= 40 && !Number.isNaN(Date.parse(x));
