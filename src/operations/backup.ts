/**
 * The backup operation: a new snapshot of `paths` under a shared lock
 * (backups may run side by side). Cancelled, it writes no snapshot; the
 * packs already saved are indexed and reused by the next backup.
 */
import { backup as archive, type BackupOptions, type BackupResult, type BackupTarget, type Progress } from '../archiver/index.js';
import type { Locker } from '../repository/api.js';
import type { WorkerPool } from '../repository/workers.js';
import { runLocked, type OperationOptions, type WarningEvent } from './operation.js';

export type BackupEvent = ({ type: 'progress' } & Progress) | WarningEvent;

export type BackupOperationOptions = Omit<BackupOptions, 'onWarning' | 'onProgress' | 'signal'> & OperationOptions<BackupEvent>;

export type BackupRepository = BackupTarget & Locker;

export function backup(repo: BackupRepository, pool: WorkerPool, opts: BackupOperationOptions): Promise<BackupResult> {
  const { signal, onEvent, ...rest } = opts;
  return runLocked(repo, 'shared', 'backup', opts, () => archive(repo, pool, {
    ...rest,
    ...(signal ? { signal } : {}),
    onWarning: (message) => onEvent?.({ type: 'warning', message }),
    onProgress: (p) => onEvent?.({ type: 'progress', ...p }),
  }));
}
