/**
 * Key-version lifecycle rules, independent of any HSM: which version is
 * current, and whether a version may wrap or unwrap at a given time. Every
 * provider calls `checkUse` before touching a key, so the rules hold the same
 * on SoftHSM, CloudHSM and KMS.
 */
import { EbakError } from '../errors.js';
import type { KeyPolicy, KeyPurpose, KeyState, KeyVersion } from './hsm.js';

/** What a provider stores per key version (KeyVersion without the derived `current`). */
export type KeyMeta = Omit<KeyVersion, 'current'>;

export type Use = 'wrap' | 'unwrap';

export function newMeta(ring: string, version: number, purpose: KeyPurpose, policy: KeyPolicy, now: Date): KeyMeta {
  const notAfter = new Date(now.getTime() + policy.validitySeconds * 1000);
  return {
    ring,
    version,
    purpose,
    state: 'active',
    createdAt: now,
    notBefore: now,
    notAfter,
    unwrapUntil: new Date(notAfter.getTime() + policy.graceSeconds * 1000),
  };
}

/** The highest active version of a ring: the only one that wraps. */
export function currentOf(metas: readonly KeyMeta[], ring: string): KeyMeta | undefined {
  let best: KeyMeta | undefined;
  for (const m of metas) {
    if (m.ring === ring && m.state === 'active' && (best === undefined || m.version > best.version)) best = m;
  }
  return best;
}

export function withCurrent(metas: readonly KeyMeta[]): KeyVersion[] {
  return [...metas]
    .sort((a, b) => a.ring.localeCompare(b.ring) || a.version - b.version)
    .map((m) => ({ ...m, current: currentOf(metas, m.ring)?.version === m.version }));
}

function refuse(m: KeyMeta, why: string, hint: string): EbakError {
  return new EbakError('HSM', `HSM key ${m.ring} v${m.version} ${why}; ${hint}`);
}

/**
 * Throws unless `m` may be used for `use` at `now`. `current` is the ring's
 * current version (wraps must use it: older versions only unwrap).
 */
export function checkUse(m: KeyMeta, use: Use, now: Date, current: KeyMeta | undefined): void {
  if (m.state === 'revoked') throw refuse(m, `was revoked (${m.reason ?? 'no reason given'})`, 'data under it can no longer be opened; restore from a copy made under another key');
  if (m.state === 'destroyed') throw refuse(m, 'was destroyed', 'data under it can never be opened again');
  if (now < m.notBefore) throw refuse(m, `is not valid before ${m.notBefore.toISOString()}`, 'check the host clock');
  if (use === 'wrap') {
    if (current?.version !== m.version) throw refuse(m, 'is not the current version', 'wrap with the current version');
    if (now >= m.notAfter) throw refuse(m, `expired at ${m.notAfter.toISOString()} and refuses new wraps`, `run \`ebak hsm rotate --ring ${m.ring}\``);
  } else if (now >= m.unwrapUntil) {
    throw refuse(m, `expired and its unwrap grace period ended at ${m.unwrapUntil.toISOString()}`, 'extend it with expire() or restore data from another copy');
  }
}

const STATES: readonly KeyState[] = ['active', 'revoked', 'destroyed'];
const PURPOSES: readonly KeyPurpose[] = ['wrap', 'encrypt'];

/** Stored form: JSON with ISO dates, format 1 (docs/hsm.md, "Key metadata"). */
export function encodeMeta(m: KeyMeta): Buffer {
  return Buffer.from(JSON.stringify({ format: 1, ...m }), 'utf8');
}

export function decodeMeta(bytes: Uint8Array): KeyMeta {
  const bad = (why: string) => new EbakError('CORRUPT', `HSM key metadata is invalid (${why}); re-create the key ring or restore the token from backup`);
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    throw bad(String(e));
  }
  if (o.format !== 1) throw new EbakError('UNSUPPORTED_VERSION', `HSM key metadata format ${String(o.format)} is unknown; upgrade ebak`);
  const date = (k: string): Date => {
    const d = new Date(typeof o[k] === 'string' ? o[k] : NaN);
    if (Number.isNaN(d.getTime())) throw bad(`${k} is not a date`);
    return d;
  };
  if (typeof o.ring !== 'string' || !Number.isInteger(o.version) || (o.version as number) < 1) throw bad('ring/version');
  if (!PURPOSES.includes(o.purpose as KeyPurpose) || !STATES.includes(o.state as KeyState)) throw bad('purpose/state');
  return {
    ring: o.ring,
    version: o.version as number,
    purpose: o.purpose as KeyPurpose,
    state: o.state as KeyState,
    createdAt: date('createdAt'),
    notBefore: date('notBefore'),
    notAfter: date('notAfter'),
    unwrapUntil: date('unwrapUntil'),
    ...(o.revokedAt === undefined ? {} : { revokedAt: date('revokedAt') }),
    ...(typeof o.reason === 'string' ? { reason: o.reason } : {}),
  };
}
