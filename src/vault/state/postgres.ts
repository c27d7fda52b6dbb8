/** PostgreSQL state store (`--state postgres://…`), for vault replicas sharing one database. */
import pg from 'pg';
import { EbakError } from '../../errors.js';
import type { AuditInsert, AuditRow, Put, StateStore, StoredRecord } from './store.js';
import type { PendingRow, TokenRequest } from './volatile.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ebak_vault_records (id TEXT PRIMARY KEY, version BIGINT NOT NULL, sealed BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS ebak_vault_audit (seq BIGINT PRIMARY KEY, entry BYTEA NOT NULL);
ALTER TABLE ebak_vault_audit ADD COLUMN IF NOT EXISTS account TEXT;
CREATE INDEX IF NOT EXISTS ebak_vault_audit_account ON ebak_vault_audit (account, seq);
CREATE UNLOGGED TABLE IF NOT EXISTS ebak_vault_pending (id TEXT PRIMARY KEY, expires BIGINT NOT NULL, sealed BYTEA NOT NULL);
CREATE INDEX IF NOT EXISTS ebak_vault_pending_expires ON ebak_vault_pending (expires);
CREATE UNLOGGED TABLE IF NOT EXISTS ebak_vault_buckets (key TEXT PRIMARY KEY, tokens DOUBLE PRECISION NOT NULL, at BIGINT NOT NULL, granted INTEGER NOT NULL);
`;

/**
 * One bucket step (volatile.ts): $1 key, $2 burst, $3 refill per ms, $4 want,
 * $5 refund, $6 now. SET sees the old row, so "refilled" is computed once per
 * column from the same values; the row lock serialises replicas.
 */
const REFILLED = 'LEAST($2::float8, b.tokens + $5::float8 + GREATEST(0, $6::bigint - b.at) * $3::float8)';
const TAKE_TOKENS = `INSERT INTO ebak_vault_buckets AS b (key, tokens, at, granted) VALUES ($1, $2::float8 - $4::int, $6, $4)
ON CONFLICT (key) DO UPDATE SET granted = LEAST($4::int, FLOOR(${REFILLED})::int), tokens = ${REFILLED} - LEAST($4::int, FLOOR(${REFILLED})::int), at = GREATEST(b.at, $6::bigint)
RETURNING granted, tokens`;

export class PostgresStore implements StateStore {
  private constructor(private readonly pool: pg.Pool) {}

  static async open(url: string): Promise<PostgresStore> {
    const pool = new pg.Pool({ connectionString: url, max: 8 });
    pool.on('error', () => {}); // an idle client's error surfaces on the next query instead
    try {
      await pool.query(SCHEMA);
    } catch (e) {
      await pool.end();
      throw new EbakError('VAULT', `cannot open the vault state database: ${(e as Error).message}`, { cause: e, hint: 'check the postgres:// URL and that the server is running' });
    }
    return new PostgresStore(pool);
  }

  async get(id: string): Promise<StoredRecord | undefined> {
    const r = await this.pool.query<{ version: string; sealed: Buffer }>('SELECT version, sealed FROM ebak_vault_records WHERE id = $1', [id]);
    const row = r.rows[0];
    return row && { version: Number(row.version), sealed: row.sealed };
  }

  async put(id: string, version: number, sealed: Buffer, previous: number | undefined): Promise<boolean> {
    return putOne(this.pool, { id, version, sealed, previous });
  }

  async putAll(puts: readonly Put[], audit: readonly AuditInsert[] = []): Promise<boolean> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      // The first put alone (the vault's root: concurrent writers queue on its row lock before touching any other),
      // then the rest in one statement per kind of compare-and-set, then the audit rows in one: a batch costs a
      // handful of round trips, not one a row.
      const [first, ...rest] = puts;
      const ok = (first === undefined || await putOne(client, first)) && await putMany(client, rest) && await appendAudit(client, audit);
      await client.query(ok ? 'COMMIT' : 'ROLLBACK');
      return ok;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  async list(prefix: string): Promise<string[]> {
    const r = await this.pool.query<{ id: string }>('SELECT id FROM ebak_vault_records WHERE left(id, $1) = $2 ORDER BY id', [prefix.length, prefix]);
    return r.rows.map((row) => row.id);
  }

  async audit(from: number): Promise<AuditRow[]> {
    const r = await this.pool.query<{ seq: string; entry: Buffer }>('SELECT seq, entry FROM ebak_vault_audit WHERE seq >= $1 ORDER BY seq', [from]);
    return r.rows.map((row) => ({ seq: Number(row.seq), entry: row.entry }));
  }

  async auditFor(account: string, after: number, limit: number): Promise<AuditRow[]> {
    const r = await this.pool.query<{ seq: string; entry: Buffer }>('SELECT seq, entry FROM ebak_vault_audit WHERE account = $1 AND seq > $2 ORDER BY seq LIMIT $3', [account, after, limit]);
    return r.rows.map((row) => ({ seq: Number(row.seq), entry: row.entry }));
  }

  async putPending(id: string, row: PendingRow): Promise<void> {
    await this.pool.query('INSERT INTO ebak_vault_pending (id, expires, sealed) VALUES ($1, $2, $3)', [id, row.expires, row.sealed]);
  }

  async takePending(id: string): Promise<PendingRow | undefined> {
    const r = await this.pool.query<{ expires: string; sealed: Buffer }>('DELETE FROM ebak_vault_pending WHERE id = $1 RETURNING expires, sealed', [id]);
    const row = r.rows[0];
    return row && { expires: Number(row.expires), sealed: row.sealed };
  }

  async takeExpired(now: number): Promise<(PendingRow & { id: string })[]> {
    const r = await this.pool.query<{ id: string; expires: string; sealed: Buffer }>('DELETE FROM ebak_vault_pending WHERE expires < $1 RETURNING id, expires, sealed', [now]);
    return r.rows.map((row) => ({ id: row.id, expires: Number(row.expires), sealed: row.sealed }));
  }

  async takeTokens(t: TokenRequest): Promise<{ granted: number; tokens: number }> {
    const r = await this.pool.query<{ granted: number; tokens: number }>(TAKE_TOKENS, [t.key, t.burst, t.perMinute / 60_000, t.want, t.refund, t.now]);
    return { granted: r.rows[0]!.granted, tokens: r.rows[0]!.tokens };
  }

  async purgeBuckets(before: number): Promise<void> {
    await this.pool.query('DELETE FROM ebak_vault_buckets WHERE at < $1', [before]);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** One compare-and-set write (a concurrent writer's UPDATE waits for the row lock, then finds the version moved). */
async function putOne(db: pg.Pool | pg.PoolClient, p: Put): Promise<boolean> {
  const r = p.previous === 'any'
    ? await db.query('INSERT INTO ebak_vault_records (id, version, sealed) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, sealed = EXCLUDED.sealed', [p.id, p.version, p.sealed])
    : p.previous === undefined
      ? await db.query('INSERT INTO ebak_vault_records (id, version, sealed) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [p.id, p.version, p.sealed])
      : await db.query('UPDATE ebak_vault_records SET version = $2, sealed = $3 WHERE id = $1 AND version = $4', [p.id, p.version, p.sealed, p.previous]);
  return r.rowCount === 1;
}

const UNNEST = 'unnest($1::text[], $2::bigint[], $3::bytea[])';
const MANY = {
  any: `INSERT INTO ebak_vault_records (id, version, sealed) SELECT * FROM ${UNNEST} ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, sealed = EXCLUDED.sealed`,
  absent: `INSERT INTO ebak_vault_records (id, version, sealed) SELECT * FROM ${UNNEST} ON CONFLICT DO NOTHING`,
  from: `UPDATE ebak_vault_records r SET version = u.version, sealed = u.sealed FROM unnest($1::text[], $2::bigint[], $3::bytea[], $4::bigint[]) AS u(id, version, sealed, prev) WHERE r.id = u.id AND r.version = u.prev`,
};

/** `puts` (distinct ids) as one statement per kind of compare-and-set; false when any of them did not apply. */
async function putMany(db: pg.PoolClient, puts: readonly Put[]): Promise<boolean> {
  const kinds = { any: [] as Put[], absent: [] as Put[], from: [] as Put[] };
  for (const p of puts) kinds[p.previous === 'any' ? 'any' : p.previous === undefined ? 'absent' : 'from'].push(p);
  for (const kind of ['from', 'absent', 'any'] as const) {
    const group = kinds[kind];
    if (group.length === 0) continue;
    const params: unknown[] = [group.map((p) => p.id), group.map((p) => p.version), group.map((p) => p.sealed)];
    if (kind === 'from') params.push(group.map((p) => p.previous));
    if ((await db.query(MANY[kind], params)).rowCount !== group.length) return false;
  }
  return true;
}

const APPEND = 'INSERT INTO ebak_vault_audit (seq, entry, account) SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::text[]) ON CONFLICT (seq) DO NOTHING';

/** `audit` in one statement; false when a seq exists (counted, not an error, so the caller's ROLLBACK undoes the batch). */
async function appendAudit(db: pg.PoolClient, audit: readonly AuditInsert[]): Promise<boolean> {
  if (audit.length === 0) return true;
  const r = await db.query(APPEND, [audit.map((e) => e.seq), audit.map((e) => e.entry), audit.map((e) => e.account)]);
  return r.rowCount === audit.length;
}
