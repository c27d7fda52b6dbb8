/**
 * S3 Object Lock (WORM) for the S3 backend: which objects are locked, the
 * headers they are written with, and the refusal to delete one still under
 * retention.
 *
 * Only data packs and snapshots are locked: they are what a backup is, and
 * nothing in ebak rewrites them. Locks (locks/) must be deletable at the end
 * of every command, and index files are replaced by repacking, so they stay
 * unlocked. That is also why the bucket must NOT have a default retention
 * rule: S3 would apply it to every object, lock files included.
 *
 * The retention comes to the backend as a typed option (ObjectLockOptions);
 * where it comes from (the repository config, a flag, the environment) is
 * the caller's business.
 */
import { EbakError, isEbakError } from '../../errors.js';
import type { Handle } from '../backend.js';
import { errorName, httpStatus } from './errors.js';

export type ObjectLockMode = 'COMPLIANCE' | 'GOVERNANCE';
export const OBJECT_LOCK_MODES: readonly ObjectLockMode[] = ['COMPLIANCE', 'GOVERNANCE'];

export interface ObjectLockOptions {
  /** Retention of each locked object, counted from its upload. */
  readonly days: number;
  /** COMPLIANCE: nobody can shorten it, root included. GOVERNANCE: users with s3:BypassGovernanceRetention can. Default COMPLIANCE. */
  readonly mode?: ObjectLockMode;
}

/** What HeadObject says about an object's lock. */
export interface LockState {
  readonly mode?: string;
  readonly retainUntil?: Date;
  readonly legalHold?: string;
}

export function isLockedType(h: Handle): boolean {
  return h.type === 'data' || h.type === 'snapshots';
}

/** Validates the setting (USAGE, before any request). */
export function checkObjectLock(o: ObjectLockOptions): Required<ObjectLockOptions> {
  const mode = o.mode ?? 'COMPLIANCE';
  if (!OBJECT_LOCK_MODES.includes(mode)) throw new EbakError('USAGE', `unknown S3 Object Lock mode ${JSON.stringify(mode)}`, { hint: `use one of ${OBJECT_LOCK_MODES.join(', ')}` });
  if (!Number.isInteger(o.days) || o.days < 1 || o.days > 36500) throw new EbakError('USAGE', `S3 Object Lock days must be a whole number from 1 to 36500, got ${o.days}`);
  return { days: o.days, mode };
}

/** The PutObject / CreateMultipartUpload parameters that lock an object for `days` from `now`. */
export function lockParams(o: Required<ObjectLockOptions>, now = Date.now()): { ObjectLockMode: ObjectLockMode; ObjectLockRetainUntilDate: Date } {
  return { ObjectLockMode: o.mode, ObjectLockRetainUntilDate: new Date(now + o.days * 86_400_000) };
}

/** Throws (STORAGE, not retried) when the object may not be deleted now. */
export function refuseLockedDelete(what: string, s: LockState, now = Date.now()): void {
  if (s.legalHold === 'ON') throw new EbakError('STORAGE', `${what}: refused, the object is under an S3 Object Lock legal hold`, { hint: 'an administrator must lift the legal hold first' });
  if (s.retainUntil !== undefined && s.retainUntil.getTime() > now)
    throw new EbakError('STORAGE', `${what}: refused, the object is under S3 Object Lock (${s.mode ?? 'retention'}) until ${s.retainUntil.toISOString()}`, {
      hint: 'locked objects cannot be deleted before their retain-until date; nothing was deleted',
    });
}

const LOCK_HINT = 'create the bucket with Object Lock (aws s3api create-bucket --object-lock-enabled-for-bucket) or enable it on a versioned bucket, without a default retention rule';

/**
 * An existing bucket must have Object Lock enabled and no default retention
 * rule (S3 would lock every object with it, lock files included). USAGE
 * otherwise; `mapped` classifies any other failure of the request.
 */
/** What GetObjectLockConfiguration says about a bucket (fetched by the backend, which holds the SDK). */
export interface BucketLockConfig {
  readonly enabled?: string;
  readonly rule?: unknown;
}

export async function checkBucketLock(fetch: () => Promise<BucketLockConfig>, bucket: string, what: string, mapped: (e: unknown) => EbakError): Promise<void> {
  let config: BucketLockConfig = {};
  try {
    config = await fetch();
  } catch (e) {
    const status = httpStatus(e);
    if (errorName(e) !== 'ObjectLockConfigurationNotFoundError' && status !== 501 && status !== 405) throw mapped(e);
    if (status === 501 || status === 405) throw new EbakError('USAGE', `${what}: the storage service does not support S3 Object Lock`, { cause: e, hint: LOCK_HINT });
  }
  if (config.enabled !== 'Enabled') throw new EbakError('USAGE', `${what}: bucket ${bucket} has no Object Lock enabled`, { hint: LOCK_HINT });
  if (config.rule) throw new EbakError('USAGE', `${what}: bucket ${bucket} has a default retention rule, which would also lock ebak's lock files`, { hint: 'remove the rule (ebak sets retention on data packs and snapshots itself)' });
}

/** S3 answers 400 InvalidRequest to lock headers on a bucket without Object Lock: that failure of a locked write, said plainly. */
export function lockRefusal(e: unknown, what: string, bucket: string): EbakError | undefined {
  if (!(isEbakError(e) && errorName(e.cause) === 'InvalidRequest' && /object lock/i.test(String((e.cause as Error).message)))) return undefined;
  return new EbakError('STORAGE', `${what}: bucket ${bucket} has no Object Lock enabled`, { cause: e, hint: LOCK_HINT });
}
