/**
 * The operations a user (the CLI today; a daemon or a web console next)
 * runs on an opened repository, as plain async functions: typed options in,
 * a typed result out, progress and warnings as events, cancellation by an
 * AbortSignal (a cancelled operation rejects with EbakError 'CANCELLED').
 * Each takes the repository lock it needs, so no caller can forget it.
 * One operation per file; operation.ts holds what they share.
 */
export { backup, type BackupEvent, type BackupOperationOptions, type BackupRepository } from './backup.js';
export { copySnapshots, type CopyEvent, type CopyResult, type CopySource, type CopyTarget } from './copy.js';
export { forget, type ForgetEntry, type ForgetOptions, type ForgetRepository } from './forget.js';
export { check, type CheckEvent, type CheckOperationOptions, type CheckRepository } from './check.js';
export { prune, type PruneEvent, type PruneOptions, type PruneResult } from './prune.js';
export { rotateMaster, type RewriteResult, type RotateEvent, type RotateOptions, type RotateResult } from './rotate.js';
export { restore, type OverwriteMode, type RestoreEvent, type RestoreResult, type RestoreOperationOptions, type RestoreOperationResult, type RestoreRepository } from './restore.js';
export { finishPending, removeRecorded, type Deleter, type ObjectDeleter } from './head.js';
export { PackSets, type PackSet } from './packsets.js';
export type { OperationOptions, WarningEvent } from './operation.js';
export { checkColdClass, DEFAULT_COLD_CLASS, moveCold, type ColdEvent, type ColdOptions, type ColdRepository, type ColdResult, type ColdStorage } from './cold.js';
