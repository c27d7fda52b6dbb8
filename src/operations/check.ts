/**
 * The check operation: verifies the repository under a shared lock (a
 * backup may run beside it). The problems found are its result, not a
 * failure: the caller decides what they mean (the CLI exits non-zero).
 */
import { check as checkRepository, type Checkable, type CheckOptions, type CheckResult } from '../checker/index.js';
import type { Locker } from '../repository/api.js';
import { runLocked, type OperationOptions, type WarningEvent } from './operation.js';

export type CheckEvent = { type: 'progress'; message: string } | WarningEvent;

export type CheckOperationOptions = Omit<CheckOptions, 'onProgress' | 'signal'> & OperationOptions<CheckEvent>;

export type CheckRepository = Checkable & Locker;

export function check(repo: CheckRepository, opts: CheckOperationOptions = {}): Promise<CheckResult> {
  const { signal, onEvent, ...rest } = opts;
  return runLocked(repo, 'shared', 'check', opts, () => checkRepository(repo, {
    ...rest,
    ...(signal ? { signal } : {}),
    onProgress: (message) => onEvent?.({ type: 'progress', message }),
  }));
}
