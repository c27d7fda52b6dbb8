/**
 * Sealed state: JSON records sealed by the HSM layer (src/hsm seal/unseal,
 * record id + version in the AAD) AND bound to the enclave's record key
 * (sealed record v2: opening needs the HSM and a key only the attested
 * enclave holds, src/vault/enclave), kept by the host's StateStore. Every
 * record's newest version and the hash of that exact copy are in the
 * version map (versionmap.ts), whose root one HSM register pins (guard.ts;
 * docs/vault.md "Rollback guard at scale"): a constant number of HSM
 * objects, one HSM write per group commit (commit.ts).
 *
 * Read: the view is made fresh first (a register read that began after the
 * call, shared by every read in that window: another replica may have moved
 * the map on), then the row must be exactly the version and copy the map
 * holds. Older, missing, or another copy of the same version → rollback.
 * The copy this enclave sealed or opened is answered from its memory
 * (plain.ts) once the row is checked to be that copy; seals reuse a record's
 * data key (src/hsm/sealer.ts): no HSM call per read or write.
 * Write (per record under its lock, or several records one request changes
 * together under each one's lock: updateAll): seal version n+1 → queue it
 * (them, as one group) for the next batch → the batch's store transaction (root, rows, shards,
 * and the audit entries riding on its writes) and register write → return.
 * So a caller that answers a client after `update` returns (the login
 * response) has its write, and the entry recording it, durable in both.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { sha256 } from '../../crypto/index.js';
import { EbakError } from '../../errors.js';
import type { KeyWrapper } from '../../hsm/hsm.js';
import { RecordSealer, type SealerOptions } from '../../hsm/sealer.js';
import { GroupCommit, type Outcome, type RecordWrite, type Rider } from './commit.js';
import type { VersionGuard } from './guard.js';
import { openGuard, type GuardCustodian } from './migrate.js';
import { PlainCache } from './plain.js';
import { StateRollback } from './rollback.js';
import type { StateStore, StoredRecord } from './store.js';
import { mapKey, type Entry } from './versionmap.js';

export { StateRollback } from './rollback.js';
export const VAULT_RING = 'vault';
/** Reloads of the view for one read whose row is newer than the view, each finding a newer map. */
const MAX_RELOADS = 16;
/** Tries of one write (or rider of its own) while other replicas win its batch. */
const MAX_TRIES = 32;

/** What a write stores: the sealed value (empty when removed), and what rides on it. */
interface Made {
  sealed: Buffer;
  removed?: true;
  rider?: Rider;
}

const NOTHING_TO_DO: Outcome = { done: true, result: undefined };

/** The version a write of a record read as `cur` gets: past the map's and the store's (a removed record's row stays). */
const nextVersion = (cur: Current<unknown>) => Math.max(cur.version, cur.stored ?? 0) + 1;

/** Bounds of the reads and writes without the HSM (docs/vault.md); tests make them small. */
export interface StateOptions {
  /** Reuse of a record's data key (src/hsm/sealer.ts). */
  readonly keys?: Omit<SealerOptions, 'bind'>;
  /** Bytes of record plaintext held for reads (plain.ts). */
  readonly plainBytes?: number;
}

export interface Current<T> {
  value: T | undefined;
  /** The version-map version (0: never written). */
  version: number;
  /** The row version the store holds (its compare-and-set). */
  stored: number | undefined;
}

export class SealedState {
  private readonly locks = new Map<string, Promise<unknown>>();
  readonly commits: GroupCommit;
  private readonly sealer: RecordSealer;
  private readonly plain: PlainCache;

  private constructor(
    readonly store: StateStore,
    hsm: KeyWrapper,
    private readonly guard: VersionGuard,
    bind: Uint8Array,
    options: StateOptions,
  ) {
    this.commits = new GroupCommit(guard);
    this.sealer = new RecordSealer(hsm, VAULT_RING, { ...options.keys, bind });
    this.plain = new PlainCache(options.plainBytes);
  }

  /** Opens the rollback guard (migrating a per-record-counter vault once); `bind` is the enclave's record key. */
  static async open(store: StateStore, hsm: KeyWrapper & GuardCustodian, bind: Uint8Array, options: StateOptions = {}): Promise<SealedState> {
    return new SealedState(store, hsm, await openGuard(store, hsm, mapKey(bind)), bind, options);
  }

  /** The record's value and version, or undefined when it was never written. */
  async read<T>(id: string): Promise<{ value: T; version: number } | undefined> {
    await this.guard.fresh();
    const cur = await this.current<T>(id);
    return cur.value === undefined ? undefined : { value: cur.value, version: cur.version };
  }

  /** The view's entry of `id` (its version and the hash of its row), trusted: for a chain inside a batch (commit.ts). */
  mapped(id: string): Entry | undefined {
    return this.guard.entry(id);
  }

  /**
   * The record at the view, for a chain inside a batch (commit.ts), which holds the guard: no register read and no
   * reload. Undefined when the row is newer than the view (another replica's batch: this batch's root loses too);
   * an older or another row is a rollback, as for read.
   */
  async atView<T>(id: string): Promise<Current<T> | undefined> {
    const e = this.guard.entry(id);
    const row = await this.store.get(id);
    return e !== undefined && row !== undefined && row.version > e.version ? undefined : this.checked<T>(id, e, row);
  }

  /** `value` sealed as version `version` of `id` (no HSM call while the record's data key lasts); its plaintext is kept for the reads of that copy. */
  async sealValue(id: string, version: number, value: unknown): Promise<Buffer> {
    const plain = Buffer.from(JSON.stringify(value), 'utf8');
    const sealed = await this.sealer.seal(plain, { id, version });
    this.plain.put(id, version, sha256(sealed), plain);
    return sealed;
  }

  /** The row checked against the view: exactly the version and copy the map holds. */
  private async current<T>(id: string, reloads = 0): Promise<Current<T>> {
    // The entry and the epoch it belongs to are taken together, before the row read: while the row is read, another
    // read of this process may move the view on (adopting another replica's batch), and the row then read may be
    // newer than the entry taken, not than the view.
    const epoch = this.guard.view.root.epoch;
    const e = this.guard.entry(id);
    const row = await this.store.get(id);
    if (e !== undefined && row !== undefined && row.version > e.version) {
      // Another replica's batch, stored after the entry's view. Under churn (two replicas writing one record) the
      // row can move on again between a reload and the next row read: read again while each finds a newer map.
      if (reloads < MAX_RELOADS) {
        if (this.guard.view.root.epoch === epoch) await this.guard.forceReload();
        if (this.guard.view.root.epoch > epoch) return this.current<T>(id, reloads + 1);
      }
      throw new StateRollback(id, `stored version ${row.version} is newer than the version map allows (${e.version})`);
    }
    return this.checked<T>(id, e, row);
  }

  /** `row`, no newer than the entry `e`, checked against it: exactly the version and copy the map holds. */
  private async checked<T>(id: string, e: Entry | undefined, row: StoredRecord | undefined): Promise<Current<T>> {
    if (e === undefined) return { value: undefined, version: 0, stored: row?.version }; // a row no batch committed is not the record
    if (!row) throw new StateRollback(id, `the record is missing but the version map holds version ${e.version}`);
    if (row.version < e.version) throw new StateRollback(id, `stored version ${row.version} is older than the version map's ${e.version}`);
    const hash = sha256(row.sealed);
    // The copy the map names and this enclave sealed or opened: its plaintext is in memory, no unwrap.
    const held = this.plain.get(id, e, row.version, hash);
    if (held !== undefined) return { value: JSON.parse(held.toString('utf8')) as T, version: row.version, stored: row.version };
    const plain = await this.sealer.unseal(row.sealed, { id, version: row.version });
    try {
      if (!hash.equals(e.hash)) throw new StateRollback(id, `the stored copy of version ${row.version} is not the one the version map holds`);
      const value = JSON.parse(plain.toString('utf8')) as T;
      this.plain.put(id, row.version, hash, Buffer.from(plain));
      return { value, version: row.version, stored: row.version };
    } finally {
      plain.fill(0);
    }
  }

  /**
   * Read-modify-write under a per-record lock; `fn` returns the new value (or throws to abort). `rider`, made from
   * the new value, rides on the write: stored in its batch's transaction or not at all (an audit entry, audit/log.ts).
   */
  async update<T>(id: string, fn: (current: T | undefined) => T | Promise<T>, rider?: (next: T) => Rider): Promise<T> {
    let next: T | undefined;
    await this.write<T>(id, async (cur, version) => {
      next = await fn(cur);
      return { sealed: await this.sealValue(id, version, next), rider: rider?.(next) };
    });
    return next!;
  }

  /**
   * Read-modify-write of several records committed together: one batch, so
   * all of them are durable or none (a head post and the pack records it
   * makes, server/head.ts). Under each record's lock, taken in id order so
   * two such updates cannot deadlock. `fn` gets the current values and
   * returns the new ones (or throws to abort); a record it leaves out is not
   * written. Retried whole on a fresh view when another replica wins.
   */
  async updateAll<T>(ids: readonly string[], fn: (current: ReadonlyMap<string, T | undefined>) => Map<string, T> | Promise<Map<string, T>>): Promise<Map<string, T>> {
    const sorted = [...new Set(ids)].sort();
    let next = new Map<string, T>();
    await this.exclusiveAll(sorted, () => this.retrying(`record ${sorted.join(', ')}`, async () => {
      const cur = new Map<string, Current<T>>();
      for (const id of sorted) cur.set(id, await this.current<T>(id));
      next = await fn(new Map([...cur].map(([id, c]) => [id, c.value])));
      const writes: RecordWrite[] = [];
      for (const [id, value] of next) {
        const c = cur.get(id);
        if (c === undefined) throw new EbakError('VAULT', `record ${id} was written without its lock`);
        const version = nextVersion(c);
        writes.push({ id, version, sealed: await this.sealValue(id, version, value), stored: c.stored, base: c.version });
      }
      return writes.length === 0 ? NOTHING_TO_DO : this.commits.write({ writes });
    }));
    return next;
  }

  /**
   * Removes the record: its entry leaves the version map, so it reads as
   * never written (a copy of an old row put back by the host is no record
   * either: only what the map holds is); the row stays, emptied, so a later
   * write's compare-and-set still has a version to follow. Nothing to do for
   * a record never written.
   */
  remove(id: string): Promise<void> {
    return this.write(id, (cur) => (cur === undefined ? undefined : { sealed: Buffer.alloc(0), removed: true as const }));
  }

  /** A rider of its own (an audit entry no write carries) in the next batch: its chain's result once durable. */
  async carry(rider: Rider): Promise<unknown> {
    return this.retrying('the audit log', () => this.commits.write({ rider }));
  }

  /** One write of `id` under its lock, retried on a fresh view while another replica wins the batch; `make` undefined: nothing to write. */
  private write<T>(id: string, make: (current: T | undefined, version: number) => Promise<Made | undefined> | Made | undefined): Promise<void> {
    return this.exclusive(id, async () => {
      await this.retrying(`record ${id}`, async () => {
        const cur = await this.current<T>(id);
        const version = nextVersion(cur);
        const w = await make(cur.value, version);
        if (w === undefined) return NOTHING_TO_DO;
        return this.commits.write({ writes: [{ id, version, sealed: w.sealed, removed: w.removed, stored: cur.stored, base: cur.version }], rider: w.rider });
      });
    });
  }

  /** `once` until its batch is done: another replica may win it, under a burst several times in a row. */
  private async retrying(what: string, once: () => Promise<Outcome>): Promise<unknown> {
    for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
      if (attempt > 0) {
        await sleep(Math.random() * Math.min(50, 2 ** attempt));
        await this.guard.fresh();
      }
      const o = await once();
      if (o.done) return o.result;
    }
    throw new EbakError('VAULT', `${what} is being changed by another vault replica; retry`);
  }

  /** Runs `fn` holding the lock of every id in `ids` (taken in the order given). */
  private exclusiveAll<R>(ids: readonly string[], fn: () => Promise<R>): Promise<R> {
    return ids.length === 0 ? fn() : this.exclusive(ids[0]!, () => this.exclusiveAll(ids.slice(1), fn));
  }

  /** Runs `fn` with no other update of `id` in this process in flight. */
  private exclusive<R>(id: string, fn: () => Promise<R>): Promise<R> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(id, tail);
    void tail.then(() => {
      if (this.locks.get(id) === tail) this.locks.delete(id);
    });
    return run;
  }
}
