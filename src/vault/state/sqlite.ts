/**
 * The default state store: one SQLite file (better-sqlite3, WAL, synchronous
 * FULL so a put is durable when it returns). The file and its -wal/-shm
 * companions are 0600: they hold nothing readable without the enclave, but
 * the host's other users have no business with them either. The volatile
 * tables (pending logins, rate buckets: volatile.ts) go through a second
 * connection that does not sync: they need no durability, and a sync per
 * rate check would cost more than the request.
 */
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { EbakError } from '../../errors.js';
import type { AuditInsert, AuditRow, Put, StateStore, StoredRecord } from './store.js';
import type { PendingRow, TokenRequest } from './volatile.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS records (id TEXT PRIMARY KEY, version INTEGER NOT NULL, sealed BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, entry BLOB NOT NULL, account TEXT);
CREATE INDEX IF NOT EXISTS audit_account ON audit (account, seq);
CREATE TABLE IF NOT EXISTS pending (id TEXT PRIMARY KEY, expires INTEGER NOT NULL, sealed BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS pending_expires ON pending (expires);
CREATE TABLE IF NOT EXISTS buckets (key TEXT PRIMARY KEY, tokens REAL NOT NULL, at INTEGER NOT NULL, granted INTEGER NOT NULL);
`;

/** One bucket step (as postgres.ts; @rate is per ms); SET sees the old row. */
const REFILLED = 'MIN(@burst, tokens + @refund + MAX(0, @now - at) * @rate)';
const TAKE_TOKENS = `INSERT INTO buckets (key, tokens, at, granted) VALUES (@key, @burst - @want, @now, @want)
ON CONFLICT (key) DO UPDATE SET granted = MIN(@want, CAST(${REFILLED} AS INTEGER)), tokens = ${REFILLED} - MIN(@want, CAST(${REFILLED} AS INTEGER)), at = MAX(at, @now)
RETURNING granted, tokens`;

function volatileStatements(db: Database.Database) {
  return {
    putPending: db.prepare('INSERT INTO pending (id, expires, sealed) VALUES (?, ?, ?)'),
    takePending: db.prepare('DELETE FROM pending WHERE id = ? RETURNING expires, sealed'),
    takeExpired: db.prepare('DELETE FROM pending WHERE expires < ? RETURNING id, expires, sealed'),
    takeTokens: db.prepare(TAKE_TOKENS),
    purgeBuckets: db.prepare('DELETE FROM buckets WHERE at < ?'),
  };
}

/** Prepared once per store: preparing on every call showed in the profile. */
function statements(db: Database.Database) {
  return {
    get: db.prepare('SELECT version, sealed FROM records WHERE id = ?'),
    insert: db.prepare('INSERT OR IGNORE INTO records (id, version, sealed) VALUES (?, ?, ?)'),
    update: db.prepare('UPDATE records SET version = ?, sealed = ? WHERE id = ? AND version = ?'),
    upsert: db.prepare('INSERT OR REPLACE INTO records (id, version, sealed) VALUES (?, ?, ?)'),
    list: db.prepare('SELECT id FROM records WHERE substr(id, 1, ?) = ? ORDER BY id'),
    append: db.prepare('INSERT OR IGNORE INTO audit (seq, entry, account) VALUES (?, ?, ?)'),
    audit: db.prepare('SELECT seq, entry FROM audit WHERE seq >= ? ORDER BY seq'),
    auditFor: db.prepare('SELECT seq, entry FROM audit WHERE account = ? AND seq > ? ORDER BY seq LIMIT ?'),
  };
}

export class SqliteStore implements StateStore {
  private readonly sql: ReturnType<typeof statements>;
  private readonly vol: ReturnType<typeof volatileStatements>;
  private readonly putBatch: (puts: readonly Put[], audit: readonly AuditInsert[]) => boolean;

  private constructor(private readonly db: Database.Database, private readonly volatileDb: Database.Database) {
    this.sql = statements(db);
    this.vol = volatileStatements(volatileDb);
    // One transaction (one synced commit) per batch; a failed compare-and-set or a seq that exists rolls it all back.
    this.putBatch = db.transaction((puts: readonly Put[], audit: readonly AuditInsert[]) => {
      for (const p of puts) if (!this.putOne(p.id, p.version, p.sealed, p.previous)) throw new Collision();
      for (const e of audit) if (this.sql.append.run(e.seq, e.entry, e.account).changes !== 1) throw new Collision();
      return true;
    });
  }

  static open(path: string): SqliteStore {
    try {
      if (!existsSync(path)) closeSync(openSync(path, 'wx', 0o600));
      const db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      migrate(db);
      db.exec(SCHEMA);
      const volatileDb = new Database(path);
      volatileDb.pragma('synchronous = OFF');
      for (const f of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
      return new SqliteStore(db, volatileDb);
    } catch (e) {
      throw new EbakError('VAULT', `cannot open the vault state file ${path}: ${(e as Error).message}`, { cause: e, hint: 'check the path and its permissions' });
    }
  }

  async get(id: string): Promise<StoredRecord | undefined> {
    const row = this.sql.get.get(id) as { version: number; sealed: Buffer } | undefined;
    return row && { version: row.version, sealed: row.sealed };
  }

  async put(id: string, version: number, sealed: Buffer, previous: number | undefined): Promise<boolean> {
    return this.putOne(id, version, sealed, previous);
  }

  private putOne(id: string, version: number, sealed: Buffer, previous: Put['previous']): boolean {
    const r = previous === 'any' ? this.sql.upsert.run(id, version, sealed)
      : previous === undefined ? this.sql.insert.run(id, version, sealed)
        : this.sql.update.run(version, sealed, id, previous);
    return r.changes === 1;
  }

  async putAll(puts: readonly Put[], audit: readonly AuditInsert[] = []): Promise<boolean> {
    try {
      return this.putBatch(puts, audit);
    } catch (e) {
      if (e instanceof Collision) return false;
      throw e;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const rows = this.sql.list.all(prefix.length, prefix) as { id: string }[];
    return rows.map((r) => r.id);
  }

  async audit(from: number): Promise<AuditRow[]> {
    return this.sql.audit.all(from) as AuditRow[];
  }

  async auditFor(account: string, after: number, limit: number): Promise<AuditRow[]> {
    return this.sql.auditFor.all(account, after, limit) as AuditRow[];
  }

  async putPending(id: string, row: PendingRow): Promise<void> {
    this.vol.putPending.run(id, row.expires, row.sealed);
  }

  async takePending(id: string): Promise<PendingRow | undefined> {
    return this.vol.takePending.get(id) as PendingRow | undefined;
  }

  async takeExpired(now: number): Promise<(PendingRow & { id: string })[]> {
    return this.vol.takeExpired.all(now) as (PendingRow & { id: string })[];
  }

  async takeTokens(t: TokenRequest): Promise<{ granted: number; tokens: number }> {
    return this.vol.takeTokens.get({ key: t.key, burst: t.burst, rate: t.perMinute / 60_000, want: t.want, refund: t.refund, now: t.now }) as { granted: number; tokens: number };
  }

  async purgeBuckets(before: number): Promise<void> {
    this.vol.purgeBuckets.run(before);
  }

  async close(): Promise<void> {
    this.volatileDb.close();
    this.db.close();
  }
}

/** A compare-and-set or an audit seq failed inside a transaction: it rolls back. */
class Collision extends Error {}

/** Stores made before the account index: add the column and fill it from each entry's body. */
function migrate(db: Database.Database): void {
  const columns = db.prepare("SELECT name FROM pragma_table_info('audit')").all() as { name: string }[];
  if (columns.length === 0 || columns.some((c) => c.name === 'account')) return;
  db.exec('ALTER TABLE audit ADD COLUMN account TEXT');
  const set = db.prepare('UPDATE audit SET account = ? WHERE seq = ?');
  db.transaction(() => {
    for (const row of db.prepare('SELECT seq, entry FROM audit').all() as AuditRow[]) set.run(auditAccount(row.entry), row.seq);
  })();
}

/** The account an audit entry names (null for vault-wide events). */
function auditAccount(entry: Buffer): string | null {
  const body = JSON.parse((JSON.parse(entry.toString('utf8')) as { body: string }).body) as { account: string | null };
  return body.account;
}
