/**
 * The forget operation: the snapshots a policy does not keep removed under
 * an exclusive lock (their data stays until prune). Decided as restic
 * decides (src/retention); a damaged snapshot stops it before anything is
 * removed, since it might be the newest of its group.
 */
import type { Locker, SnapshotStore } from '../repository/api.js';
import type { Snapshot } from '../repository/format/snapshot.js';
import { planForget, type ForgetGroup, type GroupBy, type SnapshotFilter } from '../retention/plan.js';
import type { ForgetPolicy } from '../retention/policy.js';
import { runLocked, type OperationOptions, type WarningEvent } from './operation.js';

export type ForgetRepository = SnapshotStore & Locker & { removeSnapshot(id: string): Promise<void> };
export type ForgetEntry = Snapshot & { id: string };

export interface ForgetOptions extends OperationOptions<WarningEvent> {
  policy: ForgetPolicy;
  filter?: SnapshotFilter;
  groupBy?: GroupBy;
  dryRun?: boolean;
}

export function forget(repo: ForgetRepository, opts: ForgetOptions): Promise<{ groups: ForgetGroup<ForgetEntry>[]; removed: string[] }> {
  return runLocked(repo, opts.dryRun ? 'shared' : 'exclusive', 'forget', opts, async () => {
    const { snapshots, damaged } = await repo.readSnapshots();
    if (damaged[0]) throw damaged[0];
    const groups = planForget(snapshots.map(({ id, snapshot }) => ({ ...snapshot, id })), opts.policy, { filter: opts.filter ?? {}, ...(opts.groupBy ? { groupBy: opts.groupBy } : {}) });
    const removed = groups.flatMap((g) => g.decisions.filter((d) => !d.keep).map((d) => d.snapshot.id));
    if (!opts.dryRun) for (const id of removed) {
      opts.signal?.throwIfAborted();
      await repo.removeSnapshot(id);
    }
    return { groups, removed };
  });
}
