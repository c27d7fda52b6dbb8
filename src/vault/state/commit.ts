/**
 * Group commit of sealed record writes under the version map (guard.ts):
 * writes that arrive while a batch is being made durable queue, and the next
 * batch takes all of them: one store transaction (the new root first, then
 * the rows, then the shards they touched, then the audit rows its riders
 * carry) and one HSM register write. A write's promise settles only after
 * the register write covering it returned, so no caller answers a client
 * before its write is durable in both places. Not done for a write: another
 * writer got there first (retry on a fresh view).
 *
 * Riders (audit entries, audit/log.ts) are made at commit time, on every
 * attempt, by their chain from the view that attempt is stored on: a rider
 * on a write is stored with it or not at all; a rider of its own is a batch
 * member that writes nothing else.
 *
 * A member's writes are a group (several records one update changes
 * together: a head post and the pack records it makes, sealed.ts updateAll):
 * stored in one batch, so it is durable whole or not at all.
 */
import { sha256 } from '../../crypto/index.js';
import { EbakError } from '../../errors.js';
import type { VersionGuard, View } from './guard.js';
import type { AuditInsert, Put } from './store.js';
import { ROOT_ID, ancestorHash, encodeRoot, encodeShard, shardId, shardOf, successorAncestors, type Entry } from './versionmap.js';

export interface RecordWrite {
  readonly id: string;
  readonly version: number;
  readonly sealed: Buffer;
  /** The row version the store holds now (its compare-and-set). */
  readonly stored: number | undefined;
  /** The version-map version this write was computed from (0: none). */
  readonly base: number;
  /** The record is removed: its entry leaves the version map (the row, emptied, reads as never written). */
  readonly removed?: true;
}

/** Something stored in a batch's transaction and made only for it, by its chain (an audit entry). */
export interface Rider {
  readonly chain: Chain;
}

/** What a chain adds to a batch for its riders: record writes (the audit head), audit rows, one result per rider. */
export interface Carried {
  readonly writes: readonly RecordWrite[];
  readonly audit: readonly AuditInsert[];
  readonly results: readonly unknown[];
}

export interface Chain {
  /**
   * The writes and rows that carry `riders` (in batch order) on the guard's current view; undefined when that
   * view is stale for them (the attempt is lost, as when another writer took the root). `retry`: an earlier
   * attempt of this batch was not stored.
   */
  carry(riders: readonly Rider[], retry: boolean): Promise<Carried | undefined>;
}

/** A batch member: record writes (a group: all in one batch), a rider, or both (the rider then exists only with the writes). */
export interface Member {
  readonly writes?: readonly RecordWrite[];
  readonly rider?: Rider;
}

/** Done: durable, with the rider's result; not done: stale, retry on a fresh view. */
export type Outcome = { readonly done: true; readonly result: unknown } | { readonly done: false };

interface Waiting extends Member {
  resolve(o: Outcome): void;
  reject(e: unknown): void;
}

/** Writes per batch: bounds one transaction (a larger group goes alone). */
const MAX_BATCH = 256;
/** Times a batch that lost the root to another replica is stored again on a fresh view before its writers retry. */
const RESTORES = 4;
const STALE: Outcome = { done: false };
const NOTHING: Carried = { writes: [], audit: [], results: [] };

export class GroupCommit {
  private readonly queue: Waiting[] = [];
  private flushing = false;
  /** Batches made durable (for tests and figures). */
  batches = 0;

  constructor(private readonly guard: VersionGuard) {}

  write(m: Member): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ ...m, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    this.guard.committing(true);
    while (this.queue.length > 0) {
      let batch: Waiting[] = [];
      try {
        // Taken once the guard is free, so every write queued until then joins this batch.
        await this.guard.serial(() => this.commit(batch = this.queue.splice(0, this.membersInBatch())));
      } catch (e) {
        this.guard.invalidate();
        for (const w of batch) w.reject(e);
      }
    }
    this.flushing = false;
    this.guard.committing(false);
  }

  /** How many queued members the next batch takes: up to MAX_BATCH writes (a rider of its own counts one), and at least one member whatever its size. */
  private membersInBatch(): number {
    const size = (m: Waiting) => Math.max(1, m.writes?.length ?? 0);
    let k = 1;
    let n = size(this.queue[0]!);
    while (k < this.queue.length && n + size(this.queue[k]!) <= MAX_BATCH) n += size(this.queue[k++]!);
    return k;
  }

  /** Keeps the store at most one batch ahead of the register: an adopted view another writer (or a crash) left unregistered is registered before a batch is stored on it. */
  private async confirmView(): Promise<boolean> {
    const view = this.guard.view;
    if (this.guard.from.length === 1) return true;
    return (await this.guard.advance(view)) !== false; // false: moved on past it, a fresh view first
  }

  /**
   * Another replica's batch that wins the root only makes stale the writes of records it changed: the rest of the
   * batch is stored again on the fresh view at once (same sealed bytes: their record version is unchanged; riders
   * chained again from the fresh view), instead of sending every writer back to read, seal and queue again after a
   * backoff.
   */
  private async commit(batch: Waiting[]): Promise<void> {
    let live = batch;
    for (let attempt = 0; ; attempt++) {
      live = this.stillLive(live);
      if (live.length === 0) return;
      if ((await this.confirmView()) && (await this.attempt(live, attempt > 0))) return;
      this.guard.invalidate();
      if (attempt === RESTORES) break;
      await this.guard.reload();
    }
    for (const w of live) w.resolve(STALE);
  }

  /** Settles as stale the writes computed from a version the view has since moved past (another replica's batch), and their riders with them. */
  private stillLive(members: Waiting[]): Waiting[] {
    const live = members.filter((m) => (m.writes ?? []).every((w) => (this.guard.entry(w.id)?.version ?? 0) === w.base));
    for (const m of members) if (!live.includes(m)) m.resolve(STALE);
    return live;
  }

  /** One store transaction and register write for `live` and what its riders carry; false (nothing stored) when their view is stale or another writer's root came first. */
  private async attempt(live: Waiting[], retry: boolean): Promise<boolean> {
    const carried = await carry(live, retry);
    if (carried === undefined) return false;
    const { view, puts } = successor(this.guard, [...live.flatMap((m) => m.writes ?? []), ...carried.writes]);
    if (!(await this.guard.store.putAll(puts, carried.audit))) return false;
    if (!(await this.guard.advance(view))) return this.registeredElsewhere(live, view, carried);
    this.settle(live, carried);
    return true;
  }

  private settle(live: Waiting[], carried: Carried): void {
    this.batches++;
    let i = 0;
    for (const m of live) m.resolve({ done: true, result: m.rider ? carried.results[i++] : undefined });
  }

  /**
   * The register moved past this stored batch: another replica adopted its root (confirmView registers a root
   * another writer stored and left unregistered) and may have stored its own on top. The batch is then durable and
   * guarded although this replica's own register write failed; refusing it left a counted guess unanswered
   * (test/vault/postgres.test.ts: 40 guesses over two replicas, 9 answers for a limit of 10). It is answered as
   * done only when the view now covering the register is this batch's root, or descends from it: its prev or
   * one of the ANCESTORS roots before it that it names is this root (roots are authenticated with the enclave's
   * key and each names the ancestors of the view it was built on; no root is stored more than one ahead of the
   * register). Otherwise (built on more than ANCESTORS batches deep, or a fork), not knowing, the vault refuses
   * as before: a guess may then be counted unanswered, never one more.
   */
  private async registeredElsewhere(live: Waiting[], mine: View, carried: Carried): Promise<boolean> {
    this.guard.invalidate();
    await this.guard.reload();
    const v = this.guard.view;
    const onTop = v.root.epoch > mine.root.epoch && ancestorHash(v.root, v.hash, mine.root.epoch)?.equals(mine.hash) === true;
    const same = v.root.epoch === mine.root.epoch && v.hash.equals(mine.hash);
    if (!(onTop || (same && (await this.confirmView())))) {
      throw new EbakError('VAULT', 'another writer moved the HSM rollback register past this batch; retry');
    }
    this.settle(live, carried);
    return true;
  }
}

/** What the riders of `live` carry on the current view (one chain per sealed state: the audit log). */
function carry(live: readonly Member[], retry: boolean): Promise<Carried | undefined> {
  const riders = live.flatMap((m) => (m.rider ? [m.rider] : []));
  if (riders.length === 0) return Promise.resolve(NOTHING);
  const chain = riders[0]!.chain;
  if (riders.some((r) => r.chain !== chain)) throw new EbakError('VAULT', 'riders of two chains in one batch: one audit log per sealed state');
  return chain.carry(riders, retry);
}

/** The view after `writes` and the store puts that make it: root first (writers queue on its row), rows, shards. */
function successor(guard: VersionGuard, writes: readonly RecordWrite[]): { view: View; puts: Put[] } {
  const base = guard.view;
  const epoch = base.root.epoch + 1;
  const shards = new Map(base.shards);
  const touched = new Map<number, Map<string, Entry>>();
  for (const w of writes) {
    const k = shardOf(w.id);
    let m = touched.get(k);
    if (m === undefined) touched.set(k, m = new Map(shards.get(k)));
    if (w.removed) m.delete(w.id);
    else m.set(w.id, { version: w.version, hash: sha256(w.sealed) });
  }
  const digests = base.root.digests.slice();
  const shardPuts: Put[] = [];
  for (const [k, m] of [...touched].sort((a, b) => a[0] - b[0])) {
    const bytes = encodeShard(k, m);
    shards.set(k, m);
    digests[k] = sha256(bytes);
    shardPuts.push({ id: shardId(k), version: epoch, sealed: bytes, previous: 'any' });
  }
  const root = { epoch, prev: base.hash, ancestors: successorAncestors(base.root), digests };
  const rootBytes = encodeRoot(root, guard.key);
  const rows = [...writes].sort((a, b) => (a.id < b.id ? -1 : 1)).map((w): Put => ({ id: w.id, version: w.version, sealed: w.sealed, previous: w.stored }));
  return {
    view: { root, hash: sha256(rootBytes), shards },
    puts: [{ id: ROOT_ID, version: epoch, sealed: rootBytes, previous: base.root.epoch }, ...rows, ...shardPuts],
  };
}
