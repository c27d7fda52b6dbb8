/**
 * The forget operation: the snapshots a policy does not keep removed under
 * an exclusive lock (their data stays until prune). Decided as restic
 * decides (src/retention); a damaged snapshot stops it before anything is
 * removed, since it might be the newest of its group.
 *
 * A retention lock or legal hold (src/retention/lock.ts) protects a
 * snapshot: a policy run keeps it and says why (`protectedBy`); naming one
 * is refused (RETENTION) before anything is removed. The facts come from
 * the repository's own retention object (local mode: a named one is refused
 * here), or from the vault through the head (vault mode: the vault refuses
 * the pending-removal post of a named one, so nothing is deleted). Where
 * the vault holds the delete credential, the snapshots are deleted by it
 * (`deleter`), which refuses a protected one again.
 */
import { EbakError } from '../errors.js';
import type { HeadRecorder, Locker, RetentionObjects, SnapshotStore } from '../repository/api.js';
import type { Snapshot } from '../repository/format/snapshot.js';
import { reasonFor, type RetentionFacts } from '../retention/lock.js';
import { planForget, type ForgetGroup, type GroupBy, type SnapshotFilter } from '../retention/plan.js';
import type { ForgetPolicy } from '../retention/policy.js';
import { finishPending, removeRecorded, snapshotsVia, type Deleter, type ObjectDeleter } from './head.js';
import { runLocked, type OperationOptions, type WarningEvent } from './operation.js';
import { localRetention, type RetentionSource } from './retention.js';

export type ForgetRepository = SnapshotStore & Locker & Deleter & RetentionObjects;
export type ForgetEntry = Snapshot & { id: string };

export interface ForgetOptions extends OperationOptions<WarningEvent> {
  /** Snapshots named by id or prefix: each must resolve before any is removed (the policy is then not used). */
  ids?: readonly string[];
  policy: ForgetPolicy;
  filter?: SnapshotFilter;
  groupBy?: GroupBy;
  dryRun?: boolean;
  /** The repository head to post removals to, and the vault's retention (vault mode). */
  head?: (HeadRecorder & RetentionSource) | undefined;
  /** Deletes the snapshot objects instead of the repository (the vault, when it holds the delete credential). */
  deleter?: ObjectDeleter | undefined;
  /** The clock of a local-mode retention lock (default: now). */
  now?: Date | undefined;
}

export function forget(repo: ForgetRepository, opts: ForgetOptions): Promise<{ groups: ForgetGroup<ForgetEntry>[]; removed: string[] }> {
  return runLocked(repo, opts.dryRun ? 'shared' : 'exclusive', 'forget', opts, async () => {
    const facts = await (opts.head ?? localRetention(repo, opts.now ?? new Date())).retentionFacts();
    // Named snapshots: in vault mode the vault itself refuses a protected one (and audits it) when its removal is posted.
    const groups = opts.ids?.length ? await named(repo, opts.ids, opts.head ? undefined : facts) : protect(await decide(repo, opts), facts);
    const removed = groups.flatMap((g) => g.decisions.filter((d) => !d.keep).map((d) => d.snapshot.id));
    if (!opts.dryRun) {
      const del = snapshotsVia(repo, opts.deleter);
      await finishPending(opts.head, del);
      await removeRecorded(opts.head, 'snapshots', removed, (id) => del.removeSnapshot(id), opts.signal);
    }
    return { groups, removed };
  });
}

/** Snapshots named on the command line: every one must resolve before any is removed. */
async function named(repo: SnapshotStore, refs: readonly string[], facts: RetentionFacts | undefined): Promise<ForgetGroup<ForgetEntry>[]> {
  const found = new Map<string, ForgetEntry>();
  for (const ref of refs) {
    const { id, snapshot } = await repo.findSnapshot(ref);
    const reason = facts && reasonFor(facts, { id, time: snapshot.time });
    if (reason) throw new EbakError('RETENTION', `snapshot ${id.slice(0, 8)} is protected (${reason}): nothing was removed`, { hint: 'see `ebak retention show`' });
    found.set(id, { ...snapshot, id });
  }
  return [{ key: { hostname: '', paths: null, tags: null }, decisions: [...found.values()].map((snapshot) => ({ snapshot, keep: false, reasons: [] })) }];
}

async function decide(repo: SnapshotStore, opts: ForgetOptions): Promise<ForgetGroup<ForgetEntry>[]> {
  const { snapshots, damaged } = await repo.readSnapshots();
  // A snapshot that cannot be read might be the newest of its group: deciding without it could remove the wrong ones.
  if (damaged[0]) throw damaged[0];
  return planForget(snapshots.map(({ id, snapshot }) => ({ ...snapshot, id })), opts.policy, { filter: opts.filter ?? {}, ...(opts.groupBy ? { groupBy: opts.groupBy } : {}) });
}

/** The policy's removals that a lock or hold protects, kept with the reason. */
function protect(groups: ForgetGroup<ForgetEntry>[], facts: RetentionFacts): ForgetGroup<ForgetEntry>[] {
  for (const d of groups.flatMap((g) => g.decisions)) {
    const reason = d.keep ? undefined : reasonFor(facts, d.snapshot);
    if (reason) Object.assign(d, { keep: true, protectedBy: reason });
  }
  return groups;
}
