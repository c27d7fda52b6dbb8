/**
 * The backup operation: a new snapshot of `paths` under a shared lock
 * (backups may run side by side). Cancelled, it writes no snapshot; the
 * packs already saved are indexed and reused by the next backup.
 */
import { backup as archive, type BackupOptions, type BackupResult, type BackupTarget, type Progress } from '../archiver/index.js';
import type { Locker } from '../repository/api.js';
import type { WorkerPool } from '../repository/workers.js';
import { runLocked, type OperationOptions, type WarningEvent } from './operation.js';

/** `file`: a file whose contents were read and stored (the CLI's --verbose lists them, as restic's). */
export type BackupEvent = ({ type: 'progress' } & Progress) | { type: 'file'; path: Buffer; status: 'new' | 'changed' } | WarningEvent;

export type BackupOperationOptions = Omit<BackupOptions, 'onWarning' | 'onProgress' | 'onFile' | 'signal'> & OperationOptions<BackupEvent>;

export type BackupRepository = BackupTarget & Locker;

export function backup(repo: BackupRepository, pool: WorkerPool, opts: BackupOperationOptions): Promise<BackupResult> {
  const { signal, onEvent, ...rest } = opts;
  return runLocked(repo, 'shared', 'backup', opts, () => archive(repo, pool, {
    ...rest,
    ...(signal ? { signal } : {}),
    onWarning: (message) => onEvent?.({ type: 'warning', message }),
    onProgress: (p) => onEvent?.({ type: 'progress', ...p }),
    onFile: (path, status) => onEvent?.({ type: 'file', path, status }),
  }));
}
