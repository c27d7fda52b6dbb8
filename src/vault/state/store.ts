/**
 * The host's side of the vault's state: an untrusted key-value store of
 * sealed records plus the append-only audit table. The vault trusts nothing
 * it reads back: records are sealed (src/hsm seal, id + version in the AAD),
 * their versions and hashes are checked against the version map
 * (versionmap.ts, rows "vmap/…") whose root the HSM's rollback register
 * pins (hsm/pkcs11/register.ts), and audit entries are hash-chained and signed.
 * Opening a store (a file or a postgres:// URL) is open.ts. Beside them the
 * replicas' shared volatile state: pending logins and rate buckets (volatile.ts).
 */
import type { BucketStore, PendingStore } from './volatile.js';

export interface AuditRow {
  readonly seq: number;
  readonly entry: Buffer;
}

/** An audit entry as putAll appends it. */
export interface AuditInsert extends AuditRow {
  readonly account: string | null;
}

export interface StoredRecord {
  readonly version: number;
  readonly sealed: Buffer;
}

export interface Put {
  readonly id: string;
  readonly version: number;
  readonly sealed: Buffer;
  /** The stored version this replaces: undefined, the row must not exist; 'any', whatever is there. */
  readonly previous: number | undefined | 'any';
}

export interface StateStore extends PendingStore, BucketStore {
  get(id: string): Promise<StoredRecord | undefined>;
  /**
   * Writes `id` at `version` only if the stored version is still `previous`
   * (undefined: the record must not exist). Returns false when another writer
   * got there first (compare-and-set, for vault replicas sharing a database).
   */
  put(id: string, version: number, sealed: Buffer, previous: number | undefined): Promise<boolean>;
  /**
   * All of `puts` and `audit` in one durable transaction, or none: false
   * (nothing written) when any compare-and-set fails or any audit seq
   * already exists. The first put is written before the others (the vault
   * puts the version map root first, so writers queue on it); the rest in
   * any order. `account` of an audit row (null for vault-wide events) is
   * indexed for auditFor.
   */
  putAll(puts: readonly Put[], audit?: readonly AuditInsert[]): Promise<boolean>;
  /** Ids with this prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  /** Audit entries with seq >= from, ascending. */
  audit(from: number): Promise<AuditRow[]>;
  /** At most `limit` entries of `account` with seq > after, ascending (an index lookup). */
  auditFor(account: string, after: number, limit: number): Promise<AuditRow[]>;
  close(): Promise<void>;
}
