/**
 * The rollback guard at scale (docs/vault.md "Rollback guard at scale"): the
 * enclave's trusted view of the version map (versionmap.ts) and the one HSM
 * register that pins its root. Reads are checked against the view; the view
 * is made fresh by reading the register once per batch window (fresh():
 * every caller waits for a register read that started after it asked, so it
 * sees every write any replica had answered); writes are group-committed
 * (commit.ts) into one store transaction and one register write. While the
 * group commit has batches to write, a window rides on its next register
 * write instead of reading (advance): that write begins by checking the
 * register holds nothing newer than the view, which is the same proof. Under
 * an open-loop flow of login starts the reads otherwise ran back to back,
 * ~0.7 per start (docs/vault.md, "Read windows ride on the batch's write").
 *
 * A stored root is adopted when it is the register's (same epoch and hash),
 * or its direct successor (epoch + 1, `prev` = the register's hash, MAC by
 * this vault): a batch stored and not yet under the register, in flight on
 * another replica or left by a crash, none of whose callers was answered;
 * the next register write covers it. Anything older is a rollback; further
 * ahead is waited for briefly (another replica's register write), then a
 * rollback too.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { sha256 } from '../../crypto/index.js';
import { EbakError } from '../../errors.js';
import type { Advanced, GuardValue, RollbackRegister } from '../../hsm/hsm.js';
import { sameGuard } from '../../hsm/pkcs11/register.js';
import { StateRollback } from './rollback.js';
import type { StateStore } from './store.js';
import { EMPTY_DIGESTS, ROOT_ID, decodeRoot, decodeShard, shardId, shardOf, type Entry, type Root } from './versionmap.js';

export interface View {
  readonly root: Root;
  readonly hash: Buffer;
  readonly shards: ReadonlyMap<number, ReadonlyMap<string, Entry>>;
}

const AHEAD_WAITS = 20;

interface Rider {
  resolve(): void;
  reject(e: unknown): void;
}

export class VersionGuard {
  private current!: View;
  /** Register values the next write may replace: the register's, and the stored successor the view adopted. */
  private accepted: GuardValue[] = [];
  private mustReload = false;
  private checking: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  /** The group commit has batches to write, or had until the last event-loop turn: read windows wait for its next register write. */
  private writing = false;
  private flushing = false;
  /** fresh() calls made since the last register write began, served by the next one. */
  private riders: Rider[] = [];

  constructor(readonly store: StateStore, readonly register: RollbackRegister, readonly key: Buffer) {}

  get view(): View {
    return this.current;
  }

  get from(): readonly GuardValue[] {
    return this.accepted;
  }

  entry(id: string): Entry | undefined {
    return this.current.shards.get(shardOf(id))?.get(id);
  }

  /**
   * Advances the register from the accepted values to `view`'s root and installs that view (commit.ts). A `written`
   * advance checked, after every rider waiting when it began had asked, that the register held nothing newer than
   * the view: those riders are fresh. Otherwise they read the register.
   */
  async advance(view: View): Promise<Advanced> {
    const riding = this.riders.splice(0);
    let done: Advanced = false;
    try {
      done = await this.register.advance(this.accepted, { epoch: view.root.epoch, hash: view.hash });
      if (done) this.advanced(view);
      return done;
    } finally {
      this.release(riding, done === 'written');
    }
  }

  /**
   * Whether the group commit has batches to write. When it has none left and no new batch came in the same
   * event-loop turn (a writer answered by the last batch often writes again at once), the riders read the register.
   */
  committing(busy: boolean): void {
    this.flushing = busy;
    if (busy) this.writing = true;
    else setImmediate(() => {
      if (this.flushing) return;
      this.writing = false;
      this.release(this.riders.splice(0), false);
    });
  }

  private release(riding: readonly Rider[], fresh: boolean): void {
    if (riding.length === 0) return;
    if (fresh) for (const r of riding) r.resolve();
    else void this.window().then(() => riding.forEach((r) => r.resolve()), (e) => riding.forEach((r) => r.reject(e)));
  }

  private advanced(view: View): void {
    this.current = view;
    this.accepted = [{ epoch: view.root.epoch, hash: view.hash }];
  }

  /** A batch failed after or instead of its store write: the next freshness check reads the store again. */
  invalidate(): void {
    this.mustReload = true;
  }

  /** Runs `fn` with no reload or batch of this process in flight. */
  serial<R>(fn: () => Promise<R>): Promise<R> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Resolves after a register read or write of this process that began after this call, with the view at least as new as it. */
  fresh(): Promise<void> {
    if (!this.writing) return this.window();
    return new Promise((resolve, reject) => this.riders.push({ resolve, reject }));
  }

  /** Resolves after a register read that began after this call. */
  private window(): Promise<void> {
    if (this.checking === undefined) return this.startCheck();
    this.queued ??= this.checking.then(() => this.followUp(), () => this.followUp());
    return this.queued;
  }

  private followUp(): Promise<void> {
    this.queued = undefined;
    return this.startCheck();
  }

  private startCheck(): Promise<void> {
    const p = this.check().finally(() => {
      if (this.checking === p) this.checking = undefined;
    });
    this.checking = p;
    return p;
  }

  private async check(): Promise<void> {
    const g = await this.readRegister();
    if (!this.covers(g)) await this.serial(() => this.reload(g));
  }

  /** Reads the store's root again (a row newer than the view was seen). */
  forceReload(): Promise<void> {
    return this.serial(() => {
      this.mustReload = true;
      return this.reload();
    });
  }

  private async readRegister(): Promise<GuardValue> {
    const g = await this.register.read();
    if (g === undefined) throw new StateRollback(ROOT_ID, 'the HSM rollback register is gone');
    return g;
  }

  private covers(g: GuardValue): boolean {
    if (this.mustReload) return false;
    const v = this.current;
    return v !== undefined && (sameGuard(g, { epoch: v.root.epoch, hash: v.hash }) || (v.root.epoch === g.epoch + 1 && v.root.prev.equals(g.hash)));
  }

  /** Call under serial(): makes the view cover the register (`given`, or read now). */
  async reload(given?: GuardValue): Promise<void> {
    for (let attempt = 0; attempt < AHEAD_WAITS; attempt++) {
      const g = attempt === 0 && given !== undefined ? given : await this.readRegister();
      if (this.covers(g) || (await this.adopt(g))) {
        this.mustReload = false;
        return;
      }
      await sleep(5 * (attempt + 1));
    }
    throw new StateRollback(ROOT_ID, 'the stored version map is further ahead than the HSM register allows');
  }

  /** Adopts the stored root when it is `g`'s or its direct successor; false when it is further ahead. */
  private async adopt(g: GuardValue): Promise<boolean> {
    const row = await this.store.get(ROOT_ID);
    if (!row) throw new StateRollback(ROOT_ID, `the version map is missing but the HSM register is at epoch ${g.epoch}`);
    const root = decodeRoot(row.sealed, this.key);
    if (root.epoch !== row.version) throw new EbakError('CORRUPT', `the vault version map root says epoch ${root.epoch} but is stored as ${row.version}; restore the state store from backup`);
    const value = { epoch: root.epoch, hash: sha256(row.sealed) };
    const successor = root.epoch === g.epoch + 1 && root.prev.equals(g.hash);
    if (!sameGuard(value, g) && !successor) {
      if (root.epoch <= g.epoch) throw new StateRollback(ROOT_ID, `the stored version map (epoch ${root.epoch}) is not the one the HSM register holds (epoch ${g.epoch})`);
      return false;
    }
    if (this.current !== undefined && root.epoch < this.current.root.epoch) {
      throw new StateRollback(ROOT_ID, `the stored version map (epoch ${root.epoch}) is older than the one this vault already saw (${this.current.root.epoch})`);
    }
    let shards: Map<number, ReadonlyMap<string, Entry>>;
    try {
      shards = await this.shards(root);
    } catch (e) {
      // Root and shards are separate rows: another replica may have stored a newer batch between the two reads.
      // Only a shard that disagrees with a root still in place is a rollback; otherwise read again (the caller retries).
      if (e instanceof StateRollback && !(await this.rootUnchanged(value.hash))) return false;
      throw e;
    }
    this.current = { root, hash: value.hash, shards };
    this.accepted = successor ? [g, value] : [g];
    return true;
  }

  private async rootUnchanged(hash: Buffer): Promise<boolean> {
    const now = await this.store.get(ROOT_ID);
    return now ? sha256(now.sealed).equals(hash) : false;
  }

  /** The shards `root` names: reused where the digest is unchanged, else read and checked against it. */
  private async shards(root: Root): Promise<Map<number, ReadonlyMap<string, Entry>>> {
    const old = this.current;
    const out = new Map<number, ReadonlyMap<string, Entry>>();
    await Promise.all(root.digests.map(async (digest, k) => {
      if (old !== undefined && old.root.digests[k]!.equals(digest)) {
        const same = old.shards.get(k);
        if (same !== undefined) out.set(k, same);
        return;
      }
      if (digest.equals(EMPTY_DIGESTS[k]!)) return;
      const row = await this.store.get(shardId(k));
      if (!row || !sha256(row.sealed).equals(digest)) throw new StateRollback(shardId(k), 'the stored shard is not the one the version map root holds');
      out.set(k, decodeShard(k, row.sealed));
    }));
    return out;
  }
}
