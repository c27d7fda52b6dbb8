/**
 * Group commit of sealed record writes under the version map (guard.ts):
 * writes that arrive while a batch is being made durable queue, and the next
 * batch takes all of them: one store transaction (the new root first, then
 * the rows, then the shards they touched) and one HSM register write. A
 * write's promise settles only after the register write covering it
 * returned, so no caller answers a client before its write is durable in
 * both places. False for a write: another writer got there first (retry on
 * a fresh view). A group of writes (several records one update changes
 * together: a head post and the pack records it makes) is queued as one and
 * stored in one batch, so it is durable whole or not at all.
 */
import { sha256 } from '../../crypto/index.js';
import { EbakError } from '../../errors.js';
import type { VersionGuard, View } from './guard.js';
import type { Put } from './store.js';
import { ROOT_ID, encodeRoot, encodeShard, shardId, shardOf, type Entry } from './versionmap.js';

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

/** Writes queued together: stored in one batch, all or none (a record update of several records, sealed.ts updateAll). */
interface Waiting {
  readonly writes: readonly RecordWrite[];
  resolve(ok: boolean): void;
  reject(e: unknown): void;
}

/** Writes per batch: bounds one transaction (a larger group goes alone). */
const MAX_BATCH = 256;
/** Times a batch that lost the root to another replica is stored again on a fresh view before its writers retry. */
const RESTORES = 4;

export class GroupCommit {
  private readonly queue: Waiting[] = [];
  private flushing = false;
  /** Batches made durable (for tests and figures). */
  batches = 0;

  constructor(private readonly guard: VersionGuard) {}

  /** `writes` in one batch, all durable or none: false when any was computed from a version another writer moved past. */
  writeAll(writes: readonly RecordWrite[]): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.queue.push({ writes, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.groupsInBatch());
      try {
        await this.guard.serial(() => this.commit(batch));
      } catch (e) {
        this.guard.invalidate();
        for (const w of batch) w.reject(e);
      }
    }
    this.flushing = false;
  }

  /** How many queued groups the next batch takes: up to MAX_BATCH writes, and at least one group whatever its size. */
  private groupsInBatch(): number {
    let k = 1;
    let n = this.queue[0]!.writes.length;
    while (k < this.queue.length && n + this.queue[k]!.writes.length <= MAX_BATCH) n += this.queue[k++]!.writes.length;
    return k;
  }

  /** Keeps the store at most one batch ahead of the register: an adopted view another writer (or a crash) left unregistered is registered before a batch is stored on it. */
  private async confirmView(): Promise<boolean> {
    const view = this.guard.view;
    if (this.guard.from.length === 1) return true;
    if (!(await this.guard.register.advance(this.guard.from, { epoch: view.root.epoch, hash: view.hash }))) return false; // moved on past it: a fresh view first
    this.guard.advanced(view);
    return true;
  }

  /**
   * Another replica's batch that wins the root only makes stale the writes of records it changed: the rest of the
   * batch is stored again on the fresh view at once (same sealed bytes: their record version is unchanged), instead
   * of sending every writer back to read, seal and queue again after a backoff.
   */
  private async commit(batch: Waiting[]): Promise<void> {
    let live = batch;
    for (let attempt = 0; ; attempt++) {
      live = this.stillLive(live);
      if (live.length === 0) return;
      if ((await this.confirmView()) && (await this.storeBatch(live))) return;
      this.guard.invalidate();
      if (attempt === RESTORES) break;
      await this.guard.reload();
    }
    for (const w of live) w.resolve(false);
  }

  /** Settles as stale (false) the groups with a write computed from a version the view has since moved past (another replica's batch). */
  private stillLive(groups: Waiting[]): Waiting[] {
    const live = groups.filter((g) => g.writes.every((w) => (this.guard.entry(w.id)?.version ?? 0) === w.base));
    for (const g of groups) if (!live.includes(g)) g.resolve(false);
    return live;
  }

  /** One store transaction and register write for `live`; false (nothing stored) when another writer's root came first. */
  private async storeBatch(live: Waiting[]): Promise<boolean> {
    const { view, puts } = successor(this.guard, live.flatMap((g) => g.writes));
    if (!(await this.guard.store.putAll(puts))) return false;
    if (!(await this.guard.register.advance(this.guard.from, { epoch: view.root.epoch, hash: view.hash }))) return this.registeredElsewhere(live, view);
    this.guard.advanced(view);
    this.batches++;
    for (const w of live) w.resolve(true);
    return true;
  }

  /**
   * The register moved past this stored batch: another replica adopted its root (confirmView registers a root
   * another writer stored and left unregistered) and may have stored its own on top. The batch is then durable and
   * guarded although this replica's own register write failed; refusing it left a counted guess unanswered
   * (test/vault/postgres.test.ts: 40 guesses over two replicas, 9 answers for a limit of 10). It is answered as
   * done only when the view now covering the register is this batch's root, or chains from it (roots are
   * authenticated with the enclave's key, and no root is stored more than one ahead of the register); otherwise,
   * not knowing, the vault refuses as before (a guess may then be counted unanswered: never one more).
   */
  private async registeredElsewhere(live: Waiting[], mine: View): Promise<boolean> {
    this.guard.invalidate();
    await this.guard.reload();
    const v = this.guard.view;
    const onTop = v.root.epoch === mine.root.epoch + 1 && v.root.prev.equals(mine.hash);
    const same = v.root.epoch === mine.root.epoch && v.hash.equals(mine.hash);
    if (!(onTop || (same && (await this.confirmView())))) {
      throw new EbakError('VAULT', 'another writer moved the HSM rollback register past this batch; retry');
    }
    this.batches++;
    for (const w of live) w.resolve(true);
    return true;
  }
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
  const root = { epoch, prev: base.hash, digests };
  const rootBytes = encodeRoot(root, guard.key);
  const rows = [...writes].sort((a, b) => (a.id < b.id ? -1 : 1)).map((w): Put => ({ id: w.id, version: w.version, sealed: w.sealed, previous: w.stored }));
  return {
    view: { root, hash: sha256(rootBytes), shards },
    puts: [{ id: ROOT_ID, version: epoch, sealed: rootBytes, previous: base.root.epoch }, ...rows, ...shardPuts],
  };
}
