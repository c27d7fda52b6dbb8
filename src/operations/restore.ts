/**
 * The restore operation: finds the snapshot and recreates it under the
 * target, under a shared lock. Cancelled, it stops between entries once the
 * files in flight are written; what was restored stays.
 */
import type { BlobReader, Locker, SnapshotStore, TreeLoader } from '../repository/api.js';
import { restore as restoreSnapshot, type BlobHasher, type RestoreAction, type RestoreOptions, type RestoreResult } from '../restorer/index.js';
import { runLocked, type OperationOptions, type WarningEvent } from './operation.js';

export type { OverwriteMode, RestoreResult } from '../restorer/index.js';

export type RestoreEvent =
  | { type: 'progress'; files: number; bytes: number }
  /** Archive storage is making the data packs readable (the wait may be hours). */
  | { type: 'prepare'; ready: number; total: number }
  /** One entry restored, updated, unchanged, skipped or deleted (or, in a dry run, that would be). */
  | { type: 'action'; action: RestoreAction; path: string }
  | WarningEvent;

export type RestoreOperationOptions = Omit<RestoreOptions, 'onWarning' | 'onProgress' | 'onPrepare' | 'onAction' | 'signal'> & OperationOptions<RestoreEvent> & {
  /** "latest", a snapshot id or a unique prefix of one. */
  snapshot: string;
};

export type RestoreRepository = SnapshotStore & TreeLoader & Locker & BlobHasher;

export interface RestoreOperationResult extends RestoreResult {
  /** The id of the snapshot restored. */
  id: string;
}

export function restore(repo: RestoreRepository, blobs: BlobReader, opts: RestoreOperationOptions): Promise<RestoreOperationResult> {
  const { signal, onEvent, snapshot: ref, ...rest } = opts;
  return runLocked(repo, 'shared', 'restore', opts, async () => {
    const { id, snapshot } = await repo.findSnapshot(ref);
    const r = await restoreSnapshot(repo, blobs, snapshot, {
      ...rest,
      ...(signal ? { signal } : {}),
      onWarning: (message) => onEvent?.({ type: 'warning', message }),
      onPrepare: (ready, total) => onEvent?.({ type: 'prepare', ready, total }),
      onProgress: (p) => onEvent?.({ type: 'progress', ...p }),
      onAction: (action, path) => onEvent?.({ type: 'action', action, path }),
    });
    return { id, ...r };
  });
}
