/**
 * The backup operation: a new snapshot of `paths` under a shared lock
 * (backups may run side by side). Cancelled, it writes no snapshot; the
 * packs already saved are indexed and reused by the next backup. Given its
 * storage, it ends by extending the Object Lock retention of the packs the
 * snapshot reuses (retain.ts).
 */
import { backup as archive, type BackupOptions, type BackupResult, type BackupTarget, type DirDone, type FileDone, type Progress } from '../archiver/index.js';
import type { Locker } from '../repository/api.js';
import type { WorkerPool } from '../repository/workers.js';
import { WriteOnlyRepository } from '../repository/writeonly/repository.js';
import { PackSets } from './packsets.js';
import { extendSnapshotPacks, type RetentionStorage } from './retain.js';
import { runLocked, type OperationOptions, type WarningEvent } from './operation.js';

/**
 * `file`: a regular file done with (the CLI's --verbose lists them, as
 * restic's); `dir`: a directory done with (restic's verbose_status); `skipped`: an entry left out as unreadable (it is also a
 * warning), restic's JSON `error` message.
 */
export type BackupEvent =
  | ({ type: 'progress' } & Progress)
  | ({ type: 'file'; path: Buffer } & FileDone)
  | ({ type: 'dir'; path: Buffer } & DirDone)
  | { type: 'skipped'; item: string; message: string }
  | WarningEvent;

export type BackupOperationOptions = Omit<BackupOptions, 'onWarning' | 'onProgress' | 'onFile' | 'onDir' | 'onSkipped' | 'signal'> & OperationOptions<BackupEvent> & {
  /**
   * The repository's storage: when it writes packs under Object Lock, every
   * pack the new snapshot uses is kept locked at least as long as the
   * snapshot (not for a write-only credential: it cannot read the trees).
   */
  storage?: RetentionStorage;
  /** The command's pack sets, shared with the vault's pack record (one walk of the snapshot's trees for both). */
  packSets?: PackSets;
};

export type BackupRepository = BackupTarget & Locker;

export function backup(repo: BackupRepository, pool: WorkerPool, opts: BackupOperationOptions): Promise<BackupResult> {
  const { signal, onEvent, storage, packSets, ...rest } = opts;
  return runLocked(repo, 'shared', 'backup', opts, async () => {
    const started = new Date();
    const res = await archive(repo, pool, {
      ...rest,
      ...(signal ? { signal } : {}),
      onWarning: (message) => onEvent?.({ type: 'warning', message }),
      onProgress: (p) => onEvent?.({ type: 'progress', ...p }),
      onFile: (path, done) => onEvent?.({ type: 'file', path, ...done }),
      onDir: (path, done) => onEvent?.({ type: 'dir', path, ...done }),
      onSkipped: (item, message) => onEvent?.({ type: 'skipped', item, message }),
    });
    if (storage && res.id !== '' && !(repo instanceof WriteOnlyRepository)) await extendSnapshotPacks(repo, packSets ?? new PackSets(repo), storage, res.snapshot.tree, started, signal);
    return res;
  });
}
