/**
 * What every operation shares: its cancellation and event options, and the
 * one place an aborted signal becomes EbakError 'CANCELLED' (the archiver,
 * restorer and checker only call `signal.throwIfAborted()`).
 */
import { EbakError } from '../errors.js';
import type { Lock, Locker, LockMode } from '../repository/api.js';
import { withLock } from '../repository/locks.js';

export interface OperationOptions<Event> {
  /** Aborting it cancels the operation: it stops between files, blobs or packs and rejects with 'CANCELLED'. */
  signal?: AbortSignal | undefined;
  /** Hears progress and warnings as they happen. */
  onEvent?: ((e: Event) => void) | undefined;
}

/** A problem worth telling the user that does not stop the operation (a stale lock ignored, an unreadable file). */
export interface WarningEvent {
  type: 'warning';
  message: string;
}

/**
 * Runs `fn` under a `mode` lock of `repo`; once `signal` is aborted, any
 * failure of `fn` (or an abort before it starts) is reported as CANCELLED.
 */
export async function runLocked<T, E>(repo: Locker, mode: LockMode, what: string, opts: OperationOptions<E | WarningEvent>, fn: (lock: Lock) => Promise<T>): Promise<T> {
  const signal = opts.signal;
  try {
    signal?.throwIfAborted();
    return await withLock(repo, mode, (message) => opts.onEvent?.({ type: 'warning', message }), fn);
  } catch (e) {
    if (signal?.aborted) throw new EbakError('CANCELLED', `${what} cancelled`, { cause: e });
    throw e;
  }
}
