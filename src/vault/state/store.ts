/**
 * The host's side of the vault's state: an untrusted key-value store of
 * sealed records plus the append-only audit table. The vault trusts nothing
 * it reads back: records are sealed (src/hsm seal, id + version in the AAD),
 * their versions are checked against the HSM's monotonic counters
 * (monotonic.ts), and audit entries are hash-chained and signed.
 */

export interface StoredRecord {
  readonly version: number;
  readonly sealed: Buffer;
}

export interface StateStore {
  get(id: string): Promise<StoredRecord | undefined>;
  /**
   * Writes `id` at `version` only if the stored version is still `previous`
   * (undefined: the record must not exist). Returns false when another writer
   * got there first (compare-and-set, for vault replicas sharing a database).
   */
  put(id: string, version: number, sealed: Buffer, previous: number | undefined): Promise<boolean>;
  /** Ids with this prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  /**
   * Appends audit entries (consecutive seqs) in one durable transaction:
   * all or none; false (nothing written) when any seq already exists.
   */
  appendAudit(entries: readonly { seq: number; entry: Buffer }[]): Promise<boolean>;
  /** Audit entries with seq >= from, ascending. */
  audit(from: number): Promise<{ seq: number; entry: Buffer }[]>;
  close(): Promise<void>;
}

/** `--state`: a file path (SQLite) or a postgres:// URL. */
export async function openStore(location: string): Promise<StateStore> {
  if (/^postgres(ql)?:\/\//.test(location)) {
    const { PostgresStore } = await import('./postgres.js');
    return PostgresStore.open(location);
  }
  const { SqliteStore } = await import('./sqlite.js');
  return SqliteStore.open(location);
}
