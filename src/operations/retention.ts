/**
 * The retention lock and legal holds of a local-mode repository (docs/retention.md
 * "Retention lock and legal holds"): one encrypted object under retention/
 * (docs/format.md "Retention"), read and changed here under the repository
 * lock, with the rules of src/retention/lock.ts. Local mode is enforced by
 * the client: anyone holding K can change a governance lock, and whoever
 * can delete from storage can delete the object itself (the docs say so);
 * vault mode keeps the same state in the vault instead (src/keys/head.ts).
 *
 * `RetentionSource` is what forget and check ask: the facts to decide by,
 * from this store or from the vault.
 */
import type { Locker, RetentionObjects, SnapshotStore } from '../repository/api.js';
import type { RetentionDesk, RetentionView } from '../retention/desk.js';
import { emptyRetention, decodeRetention, encodeRetention, type RetentionState } from '../retention/lockfile.js';
import { addHold, applyLock, pastMaxDays, removeHold, removeLock, type RetentionFacts } from '../retention/lock.js';
import { runLocked, type OperationOptions, type WarningEvent } from './operation.js';

export interface RetentionSource {
  retentionFacts(): Promise<RetentionFacts>;
}

/** The newest state (highest seq) and every object's name; none stored: the empty state. */
export async function readRetention(repo: RetentionObjects): Promise<{ state: RetentionState; names: string[] }> {
  const objects = await repo.readRetentionObjects();
  let state = emptyRetention();
  for (const o of objects) {
    const s = decodeRetention(o.payload, `retention/${o.name}`);
    if (s.seq > state.seq) state = s;
  }
  return { state, names: objects.map((o) => o.name) };
}

/** The local store as forget and check ask it, at `now`. */
export function localRetention(repo: RetentionObjects, now: Date): RetentionSource {
  return {
    async retentionFacts() {
      const { state } = await readRetention(repo);
      return { lock: state.lock, holds: state.holds, now };
    },
  };
}

/**
 * Applies `change` to the current state under an exclusive lock (no forget
 * runs meanwhile): the new object is saved with the next seq before the
 * older ones are removed, so a crash leaves the old state or the new one.
 */
export function changeRetention(repo: RetentionObjects & Locker, change: (cur: RetentionState) => Omit<RetentionState, 'seq'>, opts: OperationOptions<WarningEvent> = {}): Promise<RetentionState> {
  return runLocked(repo, 'exclusive', 'retention', opts, async () => {
    const { state, names } = await readRetention(repo);
    const next = { ...change(state), seq: state.seq + 1 };
    await repo.saveRetentionObject(encodeRetention(next));
    for (const name of names) await repo.removeRetentionObject(name);
    return next;
  });
}

/** `ebak retention` on the local store at `now`: the rules apply, authorization is holding K (docs/retention.md). */
export function localDesk(repo: RetentionObjects & Locker, now: Date, opts: OperationOptions<WarningEvent> = {}): RetentionDesk {
  const view = (s: RetentionState): RetentionView => ({ lock: s.lock, holds: s.holds, enforcedBy: 'client' });
  const change = async (fn: (cur: RetentionState) => Omit<RetentionState, 'seq'>) => view(await changeRetention(repo, fn, opts));
  return {
    show: async () => view((await readRetention(repo)).state),
    lock: (req) => change((cur) => ({ ...cur, lock: applyLock(cur.lock, req, now).lock })),
    unlock: () => change((cur) => (removeLock(cur.lock, now), { ...cur, lock: undefined })),
    hold: (snapshot, reason) => change((cur) => ({ ...cur, holds: addHold(cur.holds, snapshot, reason, now) })),
    release: (snapshot) => change((cur) => ({ ...cur, holds: removeHold(cur.holds, snapshot) })),
  };
}

/**
 * `check`'s report: each snapshot kept longer than the lock's max_days (its
 * age as `reasonFor` takes it), one line each. Retention violations are
 * warnings, not errors: the data is intact.
 */
export async function overMaxDays(repo: SnapshotStore, source: RetentionSource): Promise<string[]> {
  const f = await source.retentionFacts();
  if (f.lock?.max_days === undefined) return [];
  const { snapshots } = await repo.readSnapshots();
  return snapshots
    .filter(({ id, snapshot }) => pastMaxDays(f.seen ? (f.seen.get(id) ?? f.now.toISOString()) : snapshot.time, f.lock, f.now))
    .map(({ id, snapshot }) => `snapshot ${id.slice(0, 8)} (${snapshot.time}) is older than the retention lock's --max-days ${f.lock!.max_days}: forget it, or raise the lock's maximum`);
}
