/**
 * The rollback guard at scale (src/vault/state: guard.ts, commit.ts,
 * migrate.ts) on a real SoftHSM2 token and SQLite file: a vault of the
 * per-record-counter layout moves to the version map once; HSM objects stay
 * constant however many records; concurrent writes share HSM writes; a
 * crash between the store write and the HSM write loses no answered write;
 * a whole rolled-back database is refused.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Pkcs11Hsm, seal } from '../../src/hsm/index.js';
import type { RollbackRegister } from '../../src/hsm/hsm.js';
import { ck } from '../../src/hsm/pkcs11/module.js';
import { APPLICATION } from '../../src/hsm/pkcs11/counters.js';
import { REGISTER_APPLICATION } from '../../src/hsm/pkcs11/register.js';
import { SealedState, StateRollback, VAULT_RING } from '../../src/vault/state/sealed.js';
import { SqliteStore } from '../../src/vault/state/sqlite.js';
import { softhsm, type SoftHsm } from '../hsm/softhsm.js';

const BIND = Buffer.alloc(32, 9);

describe('rollback guard at scale', () => {
  let t: SoftHsm;
  let hsm: Pkcs11Hsm;
  let dir: string;
  let n = 0;
  const objects = (application: string) => hsm.token.find([{ type: ck.CKA_CLASS, value: ck.CKO_DATA }, { type: ck.CKA_APPLICATION, value: application }]).length;
  const file = () => join(dir, `state-${++n}.db`);
  const open = (store: SqliteStore, custodian = hsm) => SealedState.open(store, custodian, BIND);
  const clearRegister = () => {
    for (const h of hsm.token.find([{ type: ck.CKA_CLASS, value: ck.CKO_DATA }, { type: ck.CKA_APPLICATION, value: REGISTER_APPLICATION }])) hsm.token.destroy(h);
  };
  before(async () => {
    t = softhsm(['g']);
    hsm = await Pkcs11Hsm.open(t.config('g'));
    await hsm.createRing(VAULT_RING, 'wrap');
    dir = mkdtempSync(join(tmpdir(), 'ebak-guard-'));
  });
  after(async () => {
    await hsm.close();
    t.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Writes `id` as the per-record layout did: sealed row at `version`, then its own HSM counter. */
  const legacyWrite = async (store: SqliteStore, id: string, version: number, value: unknown, previous?: number) => {
    const sealed = await seal(hsm, VAULT_RING, Buffer.from(JSON.stringify(value)), { id, version }, { bind: BIND });
    assert.ok(await store.put(id, version, sealed, previous));
    await hsm.counters.advance(id, version);
  };

  it('a plaintext held in memory answers only for the exact copy the map names: rolled back, swapped, another copy or missing are refused', async () => {
    clearRegister();
    const path = file();
    const store = SqliteStore.open(path);
    const db = new Database(path);
    type Row = { version: number; sealed: Buffer };
    const row = (id: string) => db.prepare('SELECT version, sealed FROM records WHERE id = ?').get(id) as Row;
    const putRow = (id: string, r: Row) => db.prepare('INSERT OR REPLACE INTO records (id, version, sealed) VALUES (?, ?, ?)').run(id, r.version, r.sealed);
    let unwraps = 0;
    const custodian = Object.assign(Object.create(hsm) as Pkcs11Hsm, { unwrap: (b: Uint8Array) => (unwraps++, hsm.unwrap(b)) });
    const state = await open(store, custodian);
    const refused = (why: RegExp) => assert.rejects(state.read('ctr/k'), (e) => e instanceof StateRollback && why.test(e.message));
    try {
      await state.update('ctr/k', () => ({ failures: 1 }));
      await state.update('ctr/k', () => ({ failures: 2 }));
      const older = row('ctr/k');
      await state.update('ctr/k', () => ({ failures: 3 }));
      await state.update('ctr/j', () => ({ failures: 3 }));
      await state.update('ctr/j', () => ({ failures: 3 }));
      await state.update('ctr/j', () => ({ failures: 3 }));
      const genuine = row('ctr/k');
      assert.deepEqual(await state.read('ctr/k'), { value: { failures: 3 }, version: 3 });
      assert.equal(unwraps, 0, 'the copy this enclave sealed is read from memory');
      putRow('ctr/k', older);
      await refused(/older than the version map/);
      putRow('ctr/k', { version: 3, sealed: row('ctr/j').sealed }); // another record's row of the same version
      await assert.rejects(state.read('ctr/k'), (e) => e instanceof Error && /failed authentication|not the one the version map holds/.test(e.message));
      const other = await seal(hsm, VAULT_RING, Buffer.from(JSON.stringify({ failures: 3 })), { id: 'ctr/k', version: 3 }, { bind: BIND });
      putRow('ctr/k', { version: 3, sealed: other }); // the right version and value, another copy
      await refused(/not the one the version map holds/);
      db.prepare('DELETE FROM records WHERE id = ?').run('ctr/k');
      await refused(/missing/);
      putRow('ctr/k', genuine);
      const seen = unwraps;
      assert.deepEqual(await state.read('ctr/k'), { value: { failures: 3 }, version: 3 });
      assert.equal(unwraps, seen, 'the genuine copy put back is read from memory again');
    } finally {
      db.close();
      await store.close();
    }
  });

  it('a vault of per-record counters opens, moves to the version map once, and keeps every value', async () => {
    clearRegister();
    const path = file();
    let store = SqliteStore.open(path);
    for (let i = 0; i < 20; i++) await legacyWrite(store, `acct/u${i}`, 1, { i });
    await legacyWrite(store, 'ctr/u0', 1, { failures: 1 });
    await legacyWrite(store, 'ctr/u0', 2, { failures: 2 }, 1);
    assert.equal(objects(APPLICATION), 21);
    let state = await open(store);
    assert.equal(objects(APPLICATION), 0, 'the per-record counters are gone');
    assert.equal(objects(REGISTER_APPLICATION), 1, 'one register object (a few after more writes)');
    assert.deepEqual((await state.read('ctr/u0'))?.value, { failures: 2 });
    assert.deepEqual((await state.read('acct/u7'))?.value, { i: 7 });
    await state.update('ctr/u0', () => ({ failures: 3 }));
    await store.close();
    // Opened again: already migrated, nothing moves; the values hold.
    store = SqliteStore.open(path);
    state = await open(store);
    assert.deepEqual((await state.read('ctr/u0'))?.value, { failures: 3 });
    await store.close();
  });

  it('the migration refuses a row the host rolled back under the old counters', async () => {
    clearRegister();
    const store = SqliteStore.open(file());
    await legacyWrite(store, 'ctr/v', 1, { failures: 1 });
    const old = (await store.get('ctr/v'))!;
    await legacyWrite(store, 'ctr/v', 2, { failures: 2 }, 1);
    await legacyWrite(store, 'ctr/v', 3, { failures: 3 }, 2);
    assert.ok(await store.put('ctr/v', old.version, old.sealed, 3));
    await assert.rejects(open(store), (e) => e instanceof StateRollback);
    assert.equal(objects(REGISTER_APPLICATION), 0, 'nothing was migrated');
    await hsm.counters.clear();
    await store.close();
  });

  it('HSM objects stay constant with the number of records; concurrent writes share HSM writes', async () => {
    clearRegister();
    const store = SqliteStore.open(file());
    const state = await open(store);
    const before = state.commits.batches;
    await Promise.all(Array.from({ length: 200 }, (_, i) => state.update(`acct/w${i}`, () => ({ i }))));
    const batches = state.commits.batches - before;
    assert.ok(batches >= 1 && batches < 50, `200 concurrent writes took ${batches} HSM writes`);
    assert.ok(objects(REGISTER_APPLICATION) <= 5, 'a constant few register objects, not one per record');
    assert.equal(objects(APPLICATION), 0);
    const again = await open(store);
    assert.deepEqual((await again.read('acct/w199'))?.value, { i: 199 });
    await store.close();
  });

  it('a crash between the store write and the HSM write loses no answered write', async () => {
    clearRegister();
    const path = file();
    let store = SqliteStore.open(path);
    let crash = false;
    const register: RollbackRegister = {
      read: () => hsm.register.read(),
      advance: (from, next) => (crash ? Promise.reject(new Error('power cut before the HSM write')) : hsm.register.advance(from, next)),
    };
    const custodian = Object.assign(Object.create(hsm) as Pkcs11Hsm, { register });
    const state = await open(store, custodian);
    const answered: number[] = [];
    for (let i = 1; i <= 5; i++) answered.push((await state.update<{ failures: number }>('ctr/c', (c = { failures: 0 }) => ({ failures: c.failures + 1 }))).failures);
    crash = true;
    const lost = await Promise.allSettled([state.update('ctr/c', () => ({ failures: 6 })), state.update('acct/c', () => ({ x: 1 }))]);
    assert.ok(lost.every((r) => r.status === 'rejected'), 'nothing of the crashed batch is answered');
    await store.close();
    // Restart on the real register: the stored batch (never answered) is adopted or not; every answered write holds.
    store = SqliteStore.open(path);
    const restarted = await open(store);
    const failures = (await restarted.read<{ failures: number }>('ctr/c'))!.value.failures;
    assert.ok(failures >= answered.at(-1)!, `the counter is ${failures} after ${answered.length} answered increments`);
    assert.deepEqual((await restarted.update<{ failures: number }>('ctr/c', (c) => ({ failures: c!.failures + 1 }))).failures, failures + 1);
    await store.close();
  });

  it('reads while batches are written ride on their register writes, and still see what another replica answered before them', async () => {
    clearRegister();
    const path = file();
    const [storeA, storeB] = [SqliteStore.open(path), SqliteStore.open(path)];
    let reads = 0;
    const counted = Object.assign(Object.create(hsm) as Pkcs11Hsm, { register: { read: () => (reads++, hsm.register.read()), advance: hsm.register.advance.bind(hsm.register) } satisfies RollbackRegister });
    const a = await open(storeA, counted);
    const b = await open(storeB);
    await a.update('acct/busy', () => ({ n: 0 }));
    const writing = Promise.all(Array.from({ length: 40 }, (_, i) => a.update(`acct/busy${i % 8}`, () => ({ n: i }))));
    const seen: number[] = [];
    for (let k = 1; k <= 5; k++) {
      await b.update('ctr/x', () => ({ k })); // answered by the other replica
      seen.push((await a.read<{ k: number }>('ctr/x'))!.value.k);
    }
    await writing;
    assert.deepEqual(seen, [1, 2, 3, 4, 5], 'each read sees the write the other replica answered before it');
    let busy = true;
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let n = 0; busy; n++) await a.update(`acct/busy${w}`, () => ({ n })); // batches one after another
    });
    const during = reads;
    for (let i = 0; i < 30; i++) assert.deepEqual((await a.read('acct/busy'))?.value, { n: 0 });
    busy = false;
    await Promise.all(writers);
    assert.ok(reads - during <= 3, `${reads - during} register reads for 30 read windows made while batches were written`);
    await storeA.close();
    await storeB.close();
  });

  it('a whole rolled-back database is refused at open', async () => {
    clearRegister();
    const path = file();
    let store = SqliteStore.open(path);
    let state = await open(store);
    await state.update('ctr/d', () => ({ failures: 1 }));
    await store.close();
    copyFileSync(path, `${path}.old`);
    store = SqliteStore.open(path);
    state = await open(store);
    await state.update('ctr/d', () => ({ failures: 2 }));
    await store.close();
    copyFileSync(`${path}.old`, path);
    store = SqliteStore.open(path);
    await assert.rejects(open(store), (e) => e instanceof StateRollback);
    await store.close();
    rmSync(path);
    store = SqliteStore.open(path);
    await assert.rejects(open(store), (e) => e instanceof StateRollback, 'an empty database under a written register is a rollback too');
    await store.close();
  });

  it('updateAll commits its records in one batch, all or none; a group another replica made stale is computed again whole', async () => {
    clearRegister();
    const path = file();
    const store = SqliteStore.open(path);
    const a = await open(store);
    const before = a.commits.batches;
    await a.updateAll<unknown>(['g/x', 'g/y', 'g/z'], () => new Map([['g/x', { n: 1 }], ['g/y', { n: 1 }]]));
    assert.equal(a.commits.batches - before, 1, 'one HSM write for the group');
    assert.equal(await a.read('g/z'), undefined, 'a record left out is not written');
    await assert.rejects(a.updateAll<unknown>(['g/x', 'g/y'], () => {
      throw new Error('abort');
    }), /abort/);
    assert.deepEqual([(await a.read('g/x'))?.version, (await a.read('g/y'))?.version], [1, 1], 'an aborted update writes nothing');

    // Replica B (the same database and HSM register) changes g/y while A computes: A's whole group is stale, made again.
    const bStore = SqliteStore.open(path);
    const b = await open(bStore);
    const seen: unknown[] = [];
    await a.updateAll<{ n: number }>(['g/x', 'g/y'], async (cur) => {
      seen.push(cur.get('g/y'));
      if (seen.length === 1) await b.update('g/y', () => ({ n: 10 }));
      return new Map([['g/x', { n: cur.get('g/x')!.n + 1 }], ['g/y', { n: cur.get('g/y')!.n + 1 }]]);
    });
    assert.deepEqual(seen, [{ n: 1 }, { n: 10 }]);
    assert.deepEqual((await b.read('g/x'))?.value, { n: 2 }, 'g/x written once, from the second computation');
    assert.deepEqual((await b.read('g/y'))?.value, { n: 11 });
    await bStore.close();
    await store.close();
  });

  it('a removed record reads as never written, also after a reopen and with its old row put back; it can be written again', async () => {
    clearRegister();
    const path = file();
    let store = SqliteStore.open(path);
    let state = await open(store);
    await state.update('sp/a/s1', () => ({ packs: ['p1'] }));
    await state.update('sp/a/s2', () => ({ packs: ['p2'] }));
    const old = (await store.get('sp/a/s1'))!;
    await state.remove('sp/a/s1');
    await state.remove('sp/a/never');
    assert.equal(await state.read('sp/a/s1'), undefined);
    assert.equal((await store.get('sp/a/s1'))!.sealed.length, 0, 'the row is emptied');
    await store.close();
    store = SqliteStore.open(path);
    state = await open(store);
    assert.equal(await state.read('sp/a/s1'), undefined, 'the version map no longer holds it');
    assert.deepEqual((await state.read('sp/a/s2'))?.value, { packs: ['p2'] });
    await store.putAll([{ id: 'sp/a/s1', version: old.version, sealed: old.sealed, previous: 'any' }]);
    assert.equal(await state.read('sp/a/s1'), undefined, 'an old copy put back by the host is no record');
    await state.update('sp/a/s1', () => ({ packs: ['p3'] }));
    assert.deepEqual((await state.read('sp/a/s1'))?.value, { packs: ['p3'] });
    await store.close();
  });
});
