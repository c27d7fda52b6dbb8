/** The default state store: one SQLite file (better-sqlite3, WAL, synchronous FULL so a put is durable when it returns). */
import Database from 'better-sqlite3';
import { EbakError } from '../../errors.js';
import type { StateStore, StoredRecord } from './store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS records (id TEXT PRIMARY KEY, version INTEGER NOT NULL, sealed BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, entry BLOB NOT NULL);
`;

/** Prepared once per store: preparing on every call showed in the profile. */
function statements(db: Database.Database) {
  return {
    get: db.prepare('SELECT version, sealed FROM records WHERE id = ?'),
    insert: db.prepare('INSERT OR IGNORE INTO records (id, version, sealed) VALUES (?, ?, ?)'),
    update: db.prepare('UPDATE records SET version = ?, sealed = ? WHERE id = ? AND version = ?'),
    list: db.prepare('SELECT id FROM records WHERE substr(id, 1, ?) = ? ORDER BY id'),
    append: db.prepare('INSERT OR IGNORE INTO audit (seq, entry) VALUES (?, ?)'),
    audit: db.prepare('SELECT seq, entry FROM audit WHERE seq >= ? ORDER BY seq'),
  };
}

export class SqliteStore implements StateStore {
  private readonly sql: ReturnType<typeof statements>;
  private readonly appendBatch: (entries: readonly { seq: number; entry: Buffer }[]) => boolean;

  private constructor(private readonly db: Database.Database) {
    this.sql = statements(db);
    // One transaction (one synced commit) per batch; a seq that exists rolls the whole batch back.
    this.appendBatch = db.transaction((entries: readonly { seq: number; entry: Buffer }[]) => {
      for (const e of entries) if (this.sql.append.run(e.seq, e.entry).changes !== 1) throw new AuditCollision();
      return true;
    });
  }

  static open(path: string): SqliteStore {
    try {
      const db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.exec(SCHEMA);
      return new SqliteStore(db);
    } catch (e) {
      throw new EbakError('VAULT', `cannot open the vault state file ${path}: ${(e as Error).message}`, { cause: e, hint: 'check the path and its permissions' });
    }
  }

  async get(id: string): Promise<StoredRecord | undefined> {
    const row = this.sql.get.get(id) as { version: number; sealed: Buffer } | undefined;
    return row && { version: row.version, sealed: row.sealed };
  }

  async put(id: string, version: number, sealed: Buffer, previous: number | undefined): Promise<boolean> {
    const r = previous === undefined
      ? this.sql.insert.run(id, version, sealed)
      : this.sql.update.run(version, sealed, id, previous);
    return r.changes === 1;
  }

  async list(prefix: string): Promise<string[]> {
    const rows = this.sql.list.all(prefix.length, prefix) as { id: string }[];
    return rows.map((r) => r.id);
  }

  async appendAudit(entries: readonly { seq: number; entry: Buffer }[]): Promise<boolean> {
    try {
      return this.appendBatch(entries);
    } catch (e) {
      if (e instanceof AuditCollision) return false;
      throw e;
    }
  }

  async audit(from: number): Promise<{ seq: number; entry: Buffer }[]> {
    return this.sql.audit.all(from) as { seq: number; entry: Buffer }[];
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

class AuditCollision extends Error {}
