/**
 * Two sealed-state instances (two replicas) on one real PostgreSQL database
 * and one real SoftHSM2 token, with interleavings forced by holding one of
 * replica A's store reads at a gate (a wrapper in front of the real store:
 * the call runs against PostgreSQL, only later). A legitimate reader never
 * gets a false rollback; a row the host replays is still refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { isEbakError } from '../../src/errors.js';
import { Pkcs11Hsm } from '../../src/hsm/index.js';
import { GENESIS, entryHash, type AuditBody, type StoredEntry } from '../../src/vault/audit/entry.js';
import { AuditLog } from '../../src/vault/audit/log.js';
import { PostgresStore } from '../../src/vault/state/postgres.js';
import { SealedState, StateRollback, VAULT_RING } from '../../src/vault/state/sealed.js';
import type { StateStore } from '../../src/vault/state/store.js';
import { softhsm, type SoftHsm } from '../hsm/softhsm.js';
import { startPostgres } from './platform.js';

const BIND = Buffer.alloc(32, 7);

/**
 * The real store with one call held until released (once armed): `get(id)` of one id before it runs, or the next
 * `putAll` after it committed (its answer held back, as a replica descheduled between its store transaction and its
 * register write).
 */
function gated(store: StateStore) {
  let armed: { get: string } | { putAll: true } | undefined;
  let arrived!: () => void;
  let release!: () => void;
  let open = Promise.resolve();
  const hold = async () => {
    armed = undefined;
    arrived();
    await open;
  };
  const wrapper = new Proxy(store, {
    get(target, p) {
      if (p === 'get') {
        return async (id: string) => {
          if (armed && 'get' in armed && armed.get === id) await hold();
          return target.get(id);
        };
      }
      if (p === 'putAll') {
        return async (...args: Parameters<StateStore['putAll']>) => {
          const ok = await target.putAll(...args);
          if (armed && 'putAll' in armed) await hold();
          return ok;
        };
      }
      const v = Reflect.get(target, p) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const arm = (what: NonNullable<typeof armed>): Promise<void> => {
    armed = what;
    open = new Promise((r) => (release = r));
    return new Promise((r) => (arrived = r));
  };
  return {
    store: wrapper,
    /** Holds the next get(id); resolves the returned promise when it arrives. */
    arm: (id: string) => arm({ get: id }),
    /** Holds the answer of the next putAll, which has committed; resolves the returned promise then. */
    armCommit: () => arm({ putAll: true }),
    release: () => release(),
  };
}

describe('sealed state: two replicas on one PostgreSQL', () => {
  let t: SoftHsm;
  let hsm: Pkcs11Hsm;
  let server: { url: string; stop: () => void };
  const stores: PostgresStore[] = [];
  const store = async () => {
    const s = await PostgresStore.open(server.url);
    stores.push(s);
    return s;
  };
  before(async () => {
    server = startPostgres();
    t = softhsm(['r']);
    hsm = await Pkcs11Hsm.open(t.config('r'));
    await hsm.createRing(VAULT_RING, 'wrap');
  });
  after(async () => {
    for (const s of stores) await s.close();
    await hsm?.close();
    t?.cleanup();
    server?.stop();
  });

  it('a read whose view moves on while its row is read (another replica wrote the record) is no rollback', async () => {
    const g = gated(await store());
    const a = await SealedState.open(g.store, hsm, BIND);
    const b = await SealedState.open(await store(), hsm, BIND);
    await b.update('ctr/x', () => ({ failures: 1 }));
    assert.deepEqual((await a.read('ctr/x'))?.value, { failures: 1 });
    // A's read takes its map entry (version 1), then its row read waits; meanwhile B writes version 2
    // and another read on A moves A's view past it. The row A then reads is version 2: newer than the
    // entry it took, not than A's view.
    const held = g.arm('ctr/x');
    const read = a.read('ctr/x');
    await held;
    await b.update('ctr/x', () => ({ failures: 2 }));
    assert.equal(await a.read('ctr/other'), undefined);
    g.release();
    assert.deepEqual(await read, { value: { failures: 2 }, version: 2 });
  });

  it('an update on A racing B on the same record: no false rollback, and both increments count', async () => {
    const g = gated(await store());
    const a = await SealedState.open(g.store, hsm, BIND);
    const b = await SealedState.open(await store(), hsm, BIND);
    await a.update<{ n: number }>('ctr/y', () => ({ n: 1 }));
    const held = g.arm('ctr/y');
    const upd = a.update<{ n: number }>('ctr/y', (c) => ({ n: (c?.n ?? 0) + 1 }));
    await held;
    await b.update<{ n: number }>('ctr/y', (c) => ({ n: (c?.n ?? 0) + 1 }));
    await a.read('ctr/other');
    g.release();
    assert.deepEqual(await upd, { n: 3 });
    assert.deepEqual((await b.read('ctr/y'))?.value, { n: 3 });
  });

  it('a batch another replica registered and built on, past the values the register keeps, before its own register write is answered as done, once', async () => {
    const g = gated(await store());
    const a = await SealedState.open(g.store, hsm, BIND);
    const b = await SealedState.open(await store(), hsm, BIND);
    await a.update<{ n: number }>('ctr/z', () => ({ n: 1 }));
    // A's batch is stored (epoch e+1), then A stalls before its register write. B adopts A's root (registers it),
    // then stores and registers batches of its own on top, and on the same record, past the few values the
    // register keeps. A's register write then fails; only the ancestors B's root names say A's root is in it.
    const committed = g.armCommit();
    const upd = a.update<{ n: number }>('ctr/z', (c) => ({ n: (c?.n ?? 0) + 1 }));
    await committed;
    for (let i = 0; i < 6; i++) await b.update<{ n: number }>('ctr/z', (c) => ({ n: (c?.n ?? 0) + 10 }));
    g.release();
    assert.deepEqual(await upd, { n: 2 }, 'the write is durable and guarded: answered, not refused');
    assert.deepEqual((await a.update<{ n: number }>('ctr/z', (c) => ({ n: (c?.n ?? 0) + 1 }))), { n: 63 }, 'counted once, under B\'s six');
  });

  it('two replicas racing batches: every increment counts exactly once, on shared and on own records', async () => {
    const a = await SealedState.open(await store(), hsm, BIND);
    const b = await SealedState.open(await store(), hsm, BIND);
    const bump = (s: SealedState, id: string) => s.update<{ n: number }>(id, (c) => ({ n: (c?.n ?? 0) + 1 }));
    // Each replica writes its own records (a batch that lost the root is stored again on the fresh view) and one shared record.
    await Promise.all([a, b].flatMap((s, r) => Array.from({ length: 24 }, (_, i) => [bump(s, `ctr/own${r}-${i % 8}`), bump(s, 'ctr/shared')]).flat()));
    for (const [s, r] of [[a, 0], [b, 1]] as const) {
      for (let i = 0; i < 8; i++) assert.deepEqual((await s.read(`ctr/own${r}-${i}`))?.value, { n: 3 });
    }
    assert.deepEqual((await a.read('ctr/shared'))?.value, { n: 48 });
    assert.deepEqual((await b.read('ctr/shared'))?.value, { n: 48 });
  });

  it('two replicas racing writes that carry audit entries: every entry is stored once, with its write, in one chain', async () => {
    const [sa, sb] = [await store(), await store()];
    const a = await SealedState.open(sa, hsm, BIND);
    const b = await SealedState.open(sb, hsm, BIND);
    const logs = [new AuditLog(a), new AuditLog(b)];
    assert.equal((await logs[0]!.head()).seq, 0, 'the first audit entries on this database');
    const bump = (s: SealedState, log: AuditLog) => s.update<{ n: number }>('ctr/riders', (c) => ({ n: (c?.n ?? 0) + 1 }), (next) => log.entry('admin', null, { n: next.n }));
    // Both replicas bump one record (their batches lose the root to each other, and riders are chained again) and append entries of their own.
    await Promise.all([a, b].flatMap((s, r) => Array.from({ length: 20 }, (_, i) => [bump(s, logs[r]!), logs[r]!.append('admin', null, { own: `${r}-${i}` })]).flat()));
    assert.deepEqual((await a.read('ctr/riders'))?.value, { n: 40 });
    let prev = GENESIS;
    const bodies: AuditBody[] = [];
    for (const row of await sa.audit(1)) {
      const e = JSON.parse(row.entry.toString()) as StoredEntry;
      const body = JSON.parse(e.body) as AuditBody;
      assert.equal(body.prev, prev, `entry ${row.seq} chains from the one before`);
      assert.equal(entryHash(e.body).toString('hex'), e.hash);
      prev = e.hash;
      bodies.push(body);
    }
    assert.deepEqual(bodies.map((x) => x.seq), Array.from({ length: 80 }, (_, i) => i + 1));
    assert.deepEqual(bodies.flatMap((x) => (x.detail?.n === undefined ? [] : [x.detail.n])).sort((x, y) => Number(x) - Number(y)), Array.from({ length: 40 }, (_, i) => i + 1), 'one entry per stored value');
    assert.equal(bodies.filter((x) => x.detail?.own !== undefined).length, 40);
    assert.deepEqual(await logs[1]!.head(), { seq: 80, hash: prev });
  });

  it('a batch whose audit rows meet a row the host planted stores nothing: neither the entries nor the write they ride on', async () => {
    const s = await store();
    const a = await SealedState.open(s, hsm, BIND);
    const log = new AuditLog(a);
    await a.update('ctr/planted', () => ({ n: 1 }), () => log.entry('admin', null, { n: 1 }));
    const head = await log.head();
    const db = new pg.Client({ connectionString: server.url });
    await db.connect();
    try {
      await db.query('INSERT INTO ebak_vault_audit (seq, entry) VALUES ($1, $2)', [head.seq + 1, Buffer.from('planted')]);
      await assert.rejects(a.update('ctr/planted', () => ({ n: 2 }), () => log.entry('admin', null, { n: 2 })), (e) => isEbakError(e, 'VAULT') && /does not follow the sealed audit head/.test(e.message));
      assert.deepEqual((await a.read('ctr/planted'))?.value, { n: 1 }, 'the write is not stored without its entry');
      assert.deepEqual(await log.head(), head);
      await db.query('DELETE FROM ebak_vault_audit WHERE seq = $1', [head.seq + 1]);
      await a.update('ctr/planted', () => ({ n: 2 }), () => log.entry('admin', null, { n: 2 }));
      assert.equal((await log.head()).seq, head.seq + 1);
    } finally {
      await db.end();
    }
  });

  it('a row the host replays on the shared database is still refused by both replicas', async () => {
    const a = await SealedState.open(await store(), hsm, BIND);
    const b = await SealedState.open(await store(), hsm, BIND);
    await a.update('ctr/z', () => ({ failures: 1 }));
    const db = new pg.Client({ connectionString: server.url });
    await db.connect();
    try {
      const old = (await db.query('SELECT version, sealed FROM ebak_vault_records WHERE id = $1', ['ctr/z'])).rows[0] as { version: string; sealed: Buffer };
      await b.update('ctr/z', () => ({ failures: 2 }));
      await db.query('UPDATE ebak_vault_records SET version = $1, sealed = $2 WHERE id = $3', [old.version, old.sealed, 'ctr/z']);
      for (const s of [a, b]) await assert.rejects(s.read('ctr/z'), StateRollback);
    } finally {
      await db.end();
    }
  });
});
