/**
 * Opening the rollback guard, and moving a vault of the per-record layout
 * (one HSM counter object per sealed record, hsm/pkcs11/counters.ts) to the
 * version map once. Every row is checked against its old counter by the old
 * rule (version == counter, or counter + 1 after a crash between the two
 * writes; a counter without its row is a deleted row), then the map (epoch
 * 1) is stored and the register written; the old counters are removed last.
 * The register write is the commit point: a crash before it migrates again
 * from the old counters, a crash after it only leaves old objects that the
 * next boot removes. A fresh vault takes the same path with nothing to move.
 */
import { sha256 } from '../../crypto/index.js';
import type { GuardValue, LegacyCounters, RollbackRegister } from '../../hsm/hsm.js';
import { VersionGuard } from './guard.js';
import { StateRollback } from './rollback.js';
import type { Put, StateStore } from './store.js';
import { EMPTY_DIGESTS, MAP_PREFIX, ROOT_ID, encodeRoot, encodeShard, shardId, shardOf, type Entry } from './versionmap.js';

/** Rows the guard does not cover: the map itself, and the enclave's own key-service ciphertexts (enclave/root.ts). */
const UNGUARDED = [MAP_PREFIX, 'enclave/'];

export interface GuardCustodian {
  readonly register: RollbackRegister;
  readonly counters: LegacyCounters;
}

export async function openGuard(store: StateStore, hsm: GuardCustodian, key: Buffer): Promise<VersionGuard> {
  let g = await hsm.register.read();
  if (g === undefined) g = await migrate(store, hsm, key);
  else if ((await hsm.counters.all()).size > 0) await hsm.counters.clear();
  const guard = new VersionGuard(store, hsm.register, key);
  const start = g;
  await guard.serial(() => guard.reload(start));
  return guard;
}

async function migrate(store: StateStore, hsm: GuardCustodian, key: Buffer): Promise<GuardValue> {
  const counters = await hsm.counters.all();
  const ids = (await store.list('')).filter((id) => !UNGUARDED.some((p) => id.startsWith(p)));
  const shards = new Map<number, Map<string, Entry>>();
  for (const id of ids) {
    const row = (await store.get(id))!;
    const counter = counters.get(id) ?? 0;
    if (row.version < counter) throw new StateRollback(id, `stored version ${row.version} is older than the HSM counter ${counter}`);
    if (row.version > counter + 1) throw new StateRollback(id, `stored version ${row.version} is newer than the HSM counter ${counter} allows`);
    const k = shardOf(id);
    if (!shards.has(k)) shards.set(k, new Map());
    shards.get(k)!.set(id, { version: row.version, hash: sha256(row.sealed) });
  }
  for (const [id, counter] of counters) {
    if (counter > 0 && !ids.includes(id)) throw new StateRollback(id, `the record is missing but the HSM counter is ${counter}`);
  }
  const digests = EMPTY_DIGESTS.slice();
  const puts: Put[] = [];
  for (const [k, m] of shards) {
    const bytes = encodeShard(k, m);
    digests[k] = sha256(bytes);
    puts.push({ id: shardId(k), version: 1, sealed: bytes, previous: 'any' });
  }
  const root = encodeRoot({ epoch: 1, prev: Buffer.alloc(32), ancestors: [], digests }, key);
  // A root left by a migration that crashed before the register is replaced; one another replica has moved on from is not.
  const left = (await store.get(ROOT_ID))?.version;
  const stored = (left ?? 1) <= 1 && await store.putAll([{ id: ROOT_ID, version: 1, sealed: root, previous: left }, ...puts]);
  const g = { epoch: 1, hash: sha256(root) };
  // Another replica migrating at once made the same bytes (or moved on): the register then says which root holds.
  const value = stored && (await hsm.register.advance([undefined], g)) ? g : await hsm.register.read();
  if (value === undefined) throw new StateRollback(ROOT_ID, 'the version map was written by another writer while this vault migrated, but the HSM register is empty');
  await hsm.counters.clear();
  return value;
}
