/**
 * The master-key rotation operation (`ebak key rotate-master`,
 * docs/format.md, "Master-key rotation"). Under an exclusive lock: the key
 * steps (repository/rotate.ts: a new master key, the given secrets'
 * key files re-wrapped, every other key file removed), or only their end
 * when an earlier rotation was interrupted after its switch. With
 * `rewrite`: every snapshot of an older key sealed again under the current
 * one (exclusive lock), every pack of an older key repacked by prune (its
 * lock and two phases, so backups may run meanwhile: docs/format.md,
 * "Deleting data"), and, once storage holds nothing an older key sealed
 * (exclusive lock), the old keys dropped from the keyring. Each step is
 * safe to kill, and running the operation again (`resume`: without a new
 * key) finishes the job. In vault mode the vault learns the new key before
 * the switch (`vault`) and the rewrite's replaced snapshots and index files
 * reach the repository head (`head`) as additions, then removals. A
 * snapshot the retention lock or a hold protects (the vault's in vault
 * mode, the repository's own in local mode) is not rewritten: its old copy
 * would have to go; it is named in a warning and the old keys stay.
 */
import { EbakError } from '../errors.js';
import { keySourceGeneration } from '../repository/format/pack.js';
import type { Repository } from '../repository/repository.js';
import type { HeadRecorder, SnapshotEntry } from '../repository/api.js';
import { reasonFor } from '../retention/lock.js';
import { finishRotation, planRotation, switchMasterKey, type RotationPlan, type RotationSecrets, type RotationVault } from '../repository/rotate.js';
import { removeRecorded } from './head.js';
import type { WorkerPool } from '../repository/workers.js';
import { prune, type PruneResult } from './prune.js';
import { runLocked, type OperationOptions, type WarningEvent } from './operation.js';
import { localRetention, type RetentionSource } from './retention.js';

export type RotateEvent = { type: 'progress'; message: string } | WarningEvent;

export interface RotateOptions extends OperationOptions<RotateEvent> {
  secrets: RotationSecrets;
  /** Say what would happen; change nothing. */
  dryRun: boolean;
  /** Only finish what an interrupted rotation or rewrite left; never make a new key. */
  resume: boolean;
  /** Re-encrypt what older keys sealed, then drop them. */
  rewrite: boolean;
  /** Vault mode: the vault's update before the switch (repository/rotate.ts). */
  vault?: RotationVault | undefined;
  /** Vault mode: the repository head, told of the snapshots and index files the rewrite replaces (posted additions first), and the vault's retention. */
  head?: (HeadRecorder & RetentionSource & { flush(): Promise<void> }) | undefined;
  /** The clock of a local-mode retention lock (default: now). */
  now?: Date | undefined;
}

export interface RewriteResult {
  snapshots: number;
  /** Old snapshots a retention lock or hold protects: left as they are (removing the old copy would delete a protected snapshot), so the old keys stay. */
  protected: { id: string; reason: string }[];
  /** Undefined when the keyring held no old key (nothing to rewrite). */
  prune: PruneResult | undefined;
  /** What an older key still seals (packs another holder's lock kept from deletion, archived packs): the old keys stay until it is gone. */
  remaining: { packs: string[]; index: string[]; snapshots: string[] };
  /** The keyring holds no old key any more. */
  dropped: boolean;
}

export interface RotateResult {
  dryRun: boolean;
  /** What the key steps did (or would do); undefined when there was nothing to rotate or finish (`resume`). */
  plan: RotationPlan | undefined;
  /** The current generation afterwards. */
  generation: number;
  /** The key files removed. */
  removed: string[];
  /** Vault mode: the write-only devices the vault retired (their credential is of the old key). */
  retired: string[];
  rewrite?: RewriteResult;
}

export async function rotateMaster(repo: Repository, pool: WorkerPool | undefined, opts: RotateOptions): Promise<RotateResult> {
  const { current, pending } = repo.generations;
  const plan = opts.resume && pending.length === 0 ? undefined : await planRotation(repo, opts.secrets);
  if (opts.dryRun) return { dryRun: true, plan, generation: current, removed: [], retired: [] };
  let now = repo;
  let removed: string[] = [];
  let retired: string[] = [];
  if (plan) {
    now = await runLocked(repo, 'exclusive', 'rotate-master', opts, async () => {
      const switched = await switchMasterKey(repo, plan, opts.secrets, opts.vault);
      const reopened = switched ? await repo.reopenWith(switched.next) : repo;
      switched?.next.fill(0);
      retired = switched?.retired ?? [];
      removed = await finishRotation(reopened);
      return reopened;
    });
  }
  const result = { dryRun: false, plan, generation: now.generations.current, removed, retired };
  if (!opts.rewrite) return result;
  if (!pool) throw new EbakError('USAGE', 'rotate-master --rewrite needs a worker pool');
  return { ...result, rewrite: await rewriteOld(now, pool, opts) };
}

/** --rewrite: snapshots, then packs and the index, then (when nothing old is left) the old keys. */
async function rewriteOld(repo: Repository, pool: WorkerPool, opts: RotateOptions): Promise<RewriteResult> {
  const say = (message: string) => opts.onEvent?.({ type: 'progress', message });
  const { current, old } = repo.generations;
  if (old.length === 0) return { snapshots: 0, protected: [], prune: undefined, remaining: { packs: [], index: [], snapshots: [] }, dropped: true };
  say('sealing the snapshots of older keys again under the current key');
  const head = opts.head;
  const kept: RewriteResult['protected'] = [];
  const snapshots = await runLocked(repo, 'exclusive', 'rotate-master --rewrite', opts, async () => {
    const facts = await (head ?? localRetention(repo, opts.now ?? new Date())).retentionFacts();
    // Rewriting a snapshot removes its old copy: one the lock or a hold protects is left (and with it the old keys), never removed.
    const skip = (e: SnapshotEntry) => {
      const reason = reasonFor(facts, { id: e.id, time: e.snapshot.time });
      if (!reason) return false;
      kept.push({ id: e.id, reason });
      opts.onEvent?.({ type: 'warning', message: `snapshot ${e.id.slice(0, 8)} is protected (${reason}): not rewritten, so the old master keys stay until it can be` });
      return true;
    };
    return repo.reencryptSnapshots(async (ids) => {
      await head?.flush(); // the new copies are in the head before the old names leave it: no device sees them missing
      await removeRecorded(head, 'snapshots', ids, (id) => repo.removeSnapshot(id), opts.signal);
    }, skip);
  });
  say(`${snapshots} snapshot(s) sealed again; repacking the packs of older keys`);
  const pruned = await prune(repo, pool, {
    maxUnused: { percent: 5 }, maxRepackBytes: Infinity, dryRun: false, signal: opts.signal, head,
    onEvent: (e) => opts.onEvent?.(e.type === 'warning' ? e : { type: 'progress', message: e.message }),
    rewrite: (pack) => keySourceGeneration(pack.keySource)?.generation !== current,
  });
  say('checking that no older key seals anything still stored');
  return runLocked(repo, 'exclusive', 'rotate-master --rewrite', opts, async () => {
    const remaining = await repo.oldObjects();
    const dropped = remaining.packs.length + remaining.index.length + remaining.snapshots.length === 0;
    if (dropped) await repo.sealKeyring({ pending: [], dropOld: true });
    return { snapshots, protected: kept, prune: pruned, remaining, dropped };
  });
}
