/**
 * The replicas' shared volatile state, kept by the host beside the sealed
 * records: pending logins (sealed by the enclave, server/pending.ts) and
 * rate-limit token buckets (server/ratelimit.ts). Neither is under the
 * rollback guard, and neither needs to be: a pending login only lets the
 * client that holds its OPAQUE finish message (sent inside the attested TLS
 * channel) finish, and the guess budget lives in the version-mapped counter
 * records. The host can delete or refill these rows; that is denial of
 * service (which it can always do) or more requests within the guess budget.
 * Not durable on purpose (PostgreSQL: UNLOGGED tables; SQLite: a connection
 * that does not sync): a crash only ends logins in progress and refills buckets.
 */

export interface PendingRow {
  readonly sealed: Buffer;
  /** Unix ms after which the login may not finish. */
  readonly expires: number;
}

export interface PendingStore {
  /** Stores a new pending login (its id is random; an existing id is an error). */
  putPending(id: string, row: PendingRow): Promise<void>;
  /** Compare-and-delete: the row, removed, or undefined when another caller took it (or it never existed). */
  takePending(id: string): Promise<PendingRow | undefined>;
  /** Removes and returns every row that expired before `now`. */
  takeExpired(now: number): Promise<(PendingRow & { id: string })[]>;
}

export interface TokenRequest {
  readonly key: string;
  readonly burst: number;
  /** Refill per minute (0: never refills). */
  readonly perMinute: number;
  /** Tokens wanted (1..burst). */
  readonly want: number;
  /** Unused tokens of an earlier grant, given back first. */
  readonly refund: number;
  /** The caller's clock, Unix ms. */
  readonly now: number;
}

export interface BucketStore {
  /**
   * One atomic step of the shared bucket `key` (created full): refill since
   * its last step, add the refund, cap at the burst, then grant up to `want`
   * whole tokens. Returns what was granted (0..want) and what is left.
   */
  takeTokens(r: TokenRequest): Promise<{ granted: number; tokens: number }>;
  /** Deletes buckets not stepped since `before` (Unix ms). */
  purgeBuckets(before: number): Promise<void>;
}
