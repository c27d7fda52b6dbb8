/**
 * The HSM contract: what the vault may ask of any key custodian (PKCS#11 token,
 * CloudHSM, AWS KMS). Long-term keys never leave the custodian in the clear;
 * callers hold only opaque blobs (src/hsm/blob.ts) that name the key ring and
 * version that made them.
 *
 * Key rings: a ring is a named sequence of key versions (1, 2, ...). The highest
 * active version is "current" and the only one that wraps or encrypts; older
 * versions only unwrap or decrypt until their grace period ends.
 */
import { EbakError } from '../errors.js';

/** `wrap` keys do AES key wrap (RFC 3394) only; `encrypt` keys do AES-GCM only.
 * One key never does both: a key with both DECRYPT and UNWRAP lets a PIN holder
 * decrypt a wrapped key (Clulow, "On the security of PKCS#11", 2003). */
export type KeyPurpose = 'wrap' | 'encrypt';

/** `destroyed` versions keep a metadata tombstone so blobs they made fail clearly. */
export type KeyState = 'active' | 'revoked' | 'destroyed';

export interface KeyVersion {
  readonly ring: string;
  readonly version: number;
  readonly purpose: KeyPurpose;
  readonly state: KeyState;
  readonly createdAt: Date;
  /** Wraps and encrypts are allowed in [notBefore, notAfter). */
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Unwraps and decrypts are allowed until here (notAfter + the policy's grace). */
  readonly unwrapUntil: Date;
  /** The version new wraps use (highest active version). */
  readonly current: boolean;
  readonly revokedAt?: Date;
  readonly reason?: string;
}

/** How long a new key version is valid, and how long after that it still unwraps. */
export interface KeyPolicy {
  readonly validitySeconds: number;
  readonly graceSeconds: number;
}

export const DEFAULT_POLICY: KeyPolicy = {
  validitySeconds: 365 * 24 * 3600,
  graceSeconds: 30 * 24 * 3600,
};

export type AuditEventType =
  | 'key.create'
  | 'key.rotate'
  | 'key.validity'
  | 'key.revoke'
  | 'key.destroy'
  | 'backup.create'
  | 'backup.restore'
  | 'cluster.install';

export interface AuditEvent {
  readonly type: AuditEventType;
  readonly at: Date;
  readonly ring?: string;
  readonly version?: number;
  readonly detail?: string;
}

/**
 * Called for every lifecycle event; the vault connects it to its signed log.
 * It is awaited, and for irreversible actions (destroy) it is called BEFORE the
 * action: if it throws, the action does not happen (write-ahead audit).
 */
export type AuditHook = (event: AuditEvent) => void | Promise<void>;

export interface HsmOptions {
  readonly audit?: AuditHook;
  /** Clock used for validity checks (tests move it; production uses the default). */
  readonly now?: () => Date;
}

/** The narrow part the sealing helper needs. */
export interface KeyWrapper {
  /** Wraps `secret` (16..512 bytes, a multiple of 8) under the ring's current version. */
  wrap(ring: string, secret: Uint8Array): Promise<Uint8Array>;
  /** Returns the secret; the CALLER must zero it (`buf.fill(0)`) when done. */
  unwrap(blob: Uint8Array): Promise<Buffer>;
}

/**
 * Monotonic counters held by the custodian: the vault's rollback guard. The
 * host keeps the vault's sealed records and could hand back an older copy;
 * the custodian remembers the newest version written for each record.
 */
export interface MonotonicCounters {
  /** The newest version written for `id` (0: never written), read from the custodian, not from a cache. */
  read(id: string): Promise<number>;
  /** Records `value` (greater than the current one) durably before returning. */
  advance(id: string, value: number): Promise<void>;
}

/** The value of a rollback register: an epoch and the hash of what it guards (the vault's version map root). */
export interface GuardValue {
  readonly epoch: number;
  /** 32 bytes. */
  readonly hash: Buffer;
}

/**
 * One register held by the custodian for the whole vault (docs/vault.md,
 * "Rollback guard at scale"): the newest (epoch, root hash) of the sealed
 * version map. A constant number of custodian objects however many records
 * the vault keeps, and one custodian write per group commit.
 */
export interface RollbackRegister {
  /** The current value read from the custodian (undefined: never written); throws when two copies of the newest epoch disagree. */
  read(): Promise<GuardValue | undefined>;
  /**
   * Writes `next` only if the current value is one of `from` (undefined in it:
   * the register may be empty) or already is `next`; durable when it returns
   * a value. False: someone else moved it, nothing of ours was recorded.
   */
  advance(from: readonly (GuardValue | undefined)[], next: GuardValue): Promise<Advanced>;
}

/**
 * An advance's outcome. `written`: the newest value, checked before the write, was one of `from` (or `next`), so
 * it was no newer than the writer's view: a read of the register begun with the call would have seen nothing
 * more (the vault's read windows ride on it, state/guard.ts). `recorded`: `next` is held, but a newer value may be
 * too (another replica registered it first and built on it). False: not recorded.
 */
export type Advanced = false | 'written' | 'recorded';

/** The per-record counters of the layout before the version map, kept only to migrate from them. */
export interface LegacyCounters extends MonotonicCounters {
  /** Every record id that has a counter, with its value. */
  all(): Promise<Map<string, number>>;
  /** Removes every per-record counter object (after the migration is durable). */
  clear(): Promise<void>;
}

export interface SessionOptions {
  /** Sessions (worker threads); default 2. */
  readonly size?: number;
  /** Tests: a slow HSM, every call blocks its session's thread this long first. */
  readonly delayMs?: number;
}

/** What the vault's sealed state needs of the custodian, served off the event loop (PKCS#11: pkcs11/pool.ts). */
export interface HsmSessions extends KeyWrapper {
  readonly register: RollbackRegister;
  readonly counters: LegacyCounters;
  close(): Promise<void>;
}

export interface RestoreReport {
  readonly restored: KeyVersion[];
}

export interface Hsm extends KeyWrapper {
  /** Creates version 1 of a new ring. */
  createRing(ring: string, purpose: KeyPurpose, policy?: KeyPolicy): Promise<KeyVersion>;
  /** Adds version n+1 and makes it current; older versions keep only unwrap/decrypt. */
  rotate(ring: string, policy?: KeyPolicy): Promise<KeyVersion>;
  keys(): Promise<KeyVersion[]>;
  /** Moves a blob to the ring's current version without the secret leaving the HSM. */
  rewrap(blob: Uint8Array): Promise<Uint8Array>;
  /** AES-256-GCM inside the HSM; `aad` is bound to the result. */
  encrypt(ring: string, plaintext: Uint8Array, aad?: Uint8Array): Promise<Uint8Array>;
  decrypt(blob: Uint8Array, aad?: Uint8Array): Promise<Buffer>;
  /** Ends a version's validity at `notAfter` (expiry); unwraps continue for `graceSeconds`. */
  expire(ring: string, version: number, notAfter: Date, graceSeconds: number): Promise<KeyVersion>;
  /** A revoked version refuses everything, at once. */
  revoke(ring: string, version: number, reason: string): Promise<KeyVersion>;
  /** Permanent: the key object is destroyed; blobs it made can never be opened again. */
  destroy(ring: string, version: number): Promise<KeyVersion>;
  /** One authenticated file holding every key, wrapped (see docs/hsm.md). */
  backup(): Promise<Uint8Array>;
  restore(file: Uint8Array): Promise<RestoreReport>;
  /** Per-record counters: the rollback guard before the version map, read only to migrate (PKCS#11: token objects). */
  readonly counters: LegacyCounters;
  /** The rollback guard: one register for the whole vault (PKCS#11: one token object). */
  readonly register: RollbackRegister;
  /** A pool of further sessions on the same token whose calls do not block the event loop. */
  sessions(options?: SessionOptions): Promise<HsmSessions>;
  close(): Promise<void>;
}

const RING_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export function checkRingName(ring: string): string {
  if (!RING_NAME.test(ring)) {
    throw new EbakError('USAGE', `bad key ring name ${JSON.stringify(ring)}: use 1-64 of a-z 0-9 _ - (starting with a letter or digit)`);
  }
  return ring;
}
