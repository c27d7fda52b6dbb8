/**
 * Sealed state: JSON records sealed by the HSM layer (src/hsm seal/unseal,
 * record id + version in the AAD) AND bound to the enclave's record key
 * (sealed record v2: opening needs the HSM and a key only the attested
 * enclave holds, src/vault/enclave), kept by the host's StateStore, each read
 * checked against the HSM's monotonic counter for that record, read afresh
 * from the token every time: another replica may have moved it on, and a
 * cached value would accept a row the host rolled back meanwhile.
 *
 * Write order (per record, under a per-record lock): seal version n+1 → store
 * (compare-and-set on n) → advance the HSM counter to n+1 → return. So a
 * caller that answers a client after `update` returns (the login response)
 * has both copies durable. A read accepts version == counter, or counter + 1
 * (a crash between the store write and the counter: nothing was answered for
 * it yet, and the counter is moved forward). Anything older is a rollback.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { EbakError } from '../../errors.js';
import { seal, unseal } from '../../hsm/seal.js';
import type { KeyWrapper } from '../../hsm/hsm.js';
import type { MonotonicCounters } from '../../hsm/hsm.js';
import type { StateStore } from './store.js';

export const VAULT_RING = 'vault';

/** The host handed back an older or deleted record: the vault refuses to use it. */
export class StateRollback extends EbakError {
  constructor(readonly recordId: string, detail: string) {
    super('VAULT', `sealed state rollback detected for ${recordId}: ${detail}; the host replayed old state`, {
      hint: 'restore the newest state database; the vault will not serve this record until then',
    });
  }
}

export class SealedState {
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    readonly store: StateStore,
    private readonly hsm: KeyWrapper,
    private readonly counters: MonotonicCounters,
    /** The enclave's record key: records open only with it (sealed record v2). */
    private readonly bind: Uint8Array,
    private readonly ring = VAULT_RING,
  ) {}

  /** The record's value and version, or undefined when it was never written. */
  async read<T>(id: string): Promise<{ value: T; version: number } | undefined> {
    // The counter first: writers store a version before they count it, so the row read after must be at least as new.
    let counter = await this.counters.read(id);
    const row = await this.store.get(id);
    const version = row?.version ?? 0;
    if (version > counter + 1) counter = await this.counters.read(id); // other replicas wrote meanwhile
    if (version < counter) throw new StateRollback(id, row ? `stored version ${version} is older than the HSM counter ${counter}` : `the record is missing but the HSM counter is ${counter}`);
    if (version > counter + 1) throw new StateRollback(id, `stored version ${version} is newer than the HSM counter ${counter} allows`);
    if (!row) return undefined;
    const plain = await unseal(this.hsm, row.sealed, { id, version }, { bind: this.bind });
    try {
      const value = JSON.parse(plain.toString('utf8')) as T;
      if (version === counter + 1) await this.counters.advance(id, version);
      return { value, version };
    } finally {
      plain.fill(0);
    }
  }

  /** Read-modify-write under a per-record lock; `fn` returns the new value (or throws to abort). */
  update<T>(id: string, fn: (current: T | undefined) => T | Promise<T>): Promise<T> {
    return this.exclusive(id, async () => {
      // Another replica may win the compare-and-set; under a burst it can win several times in a row.
      for (let attempt = 0; attempt < 32; attempt++) {
        if (attempt > 0) await sleep(Math.random() * Math.min(50, 2 ** attempt));
        const cur = await this.read<T>(id);
        const next = await fn(cur?.value);
        const version = (cur?.version ?? 0) + 1;
        const sealed = await seal(this.hsm, this.ring, Buffer.from(JSON.stringify(next), 'utf8'), { id, version }, { bind: this.bind });
        if (await this.store.put(id, version, sealed, cur?.version)) {
          await this.counters.advance(id, version);
          return next;
        }
      }
      throw new EbakError('VAULT', `record ${id} is being changed by another vault replica; retry`);
    });
  }

  /** Runs `fn` with no other update of `id` in this process in flight. */
  exclusive<R>(id: string, fn: () => Promise<R>): Promise<R> {
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
