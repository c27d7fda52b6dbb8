/**
 * The forget operation: the snapshots a policy does not keep removed under
 * an exclusive lock (their data stays until prune). Decided as restic
 * decides (src/retention); a damaged snapshot stops it before anything is
 * removed, since it might be the newest of its group.
 */
import type { HeadRecorder, Locker, SnapshotStore } from '../repository/api.js';
import type { Snapshot } from '../repository/format/snapshot.js';
import { planForget, type ForgetGroup, type GroupBy, type SnapshotFilter } from '../retention/plan.js';
import type { ForgetPolicy } from '../retention/policy.js';
import { finishPending, removeRecorded, type Deleter } from './head.js';
import { runLocked, type OperationOptions, type WarningEvent } from './operation.js';

export type ForgetRepository = SnapshotStore & Locker & Deleter;
export type ForgetEntry = Snapshot & { id: string };

export interface ForgetOptions extends OperationOptions<WarningEvent> {
  /** Snapshots named by id or prefix: each must resolve before any is removed (the policy is then not used). */
  ids?: readonly string[];
  policy: ForgetPolicy;
  filter?: SnapshotFilter;
  groupBy?: GroupBy;
  dryRun?: boolean;
  /** The repository head to post removals to (vault mode). */
  head?: HeadRecorder | undefined;
}

export function forget(repo: ForgetRepository, opts: ForgetOptions): Promise<{ groups: ForgetGroup<ForgetEntry>[]; removed: string[] }> {
  return runLocked(repo, opts.dryRun ? 'shared' : 'exclusive', 'forget', opts, async () => {
    const groups = opts.ids?.length ? await named(repo, opts.ids) : await decide(repo, opts);
    const removed = groups.flatMap((g) => g.decisions.filter((d) => !d.keep).map((d) => d.snapshot.id));
    if (!opts.dryRun) {
      await finishPending(opts.head, repo);
      await removeRecorded(opts.head, 'snapshots', removed, (id) => repo.removeSnapshot(id), opts.signal);
    }
    return { groups, removed };
  });
}

/** Snapshots named on the command line: every one must resolve before any is removed. */
async function named(repo: SnapshotStore, refs: readonly string[]): Promise<ForgetGroup<ForgetEntry>[]> {
  const found = new Map<string, ForgetEntry>();
  for (const ref of refs) {
    const { id, snapshot } = await repo.findSnapshot(ref);
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
