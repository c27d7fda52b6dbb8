/**
 * Ctrl-C, restic's way. The first SIGINT during an operation that can stop
 * cleanly (backup, restore, check: they take an AbortSignal) cancels it: it
 * finishes what is in flight, saves what it wrote, releases its lock, and
 * the command exits 130. A second SIGINT, or the first during any other
 * command, removes this process's locks and exits 130 at once (what was
 * written is crash-safe by design; the lock is what a kill would leave).
 */
import { EbakError, isEbakError } from '../errors.js';
import { releaseHeldLocks } from '../repository/locks.js';
import { exitCodeFor } from './exit.js';

let cancel: (() => void) | undefined;
let signals = 0;

/** Installed once by main(): from then on SIGINT is handled here. */
export function handleInterrupts(): void {
  process.on('SIGINT', () => {
    signals++;
    if (signals === 1 && cancel) return cancel();
    void releaseHeldLocks().finally(() => process.exit(exitCodeFor('INTERRUPTED')));
  });
}

/**
 * Runs `fn` with a signal that the first SIGINT aborts; a cancellation it
 * caused is INTERRUPTED (exit 130), not an ordinary CANCELLED.
 */
export async function interruptible<T>(warn: (m: string) => void, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  cancel = () => {
    warn('cancelling (press Ctrl-C again to stop at once)');
    ac.abort();
  };
  try {
    return await fn(ac.signal);
  } catch (e) {
    if (ac.signal.aborted && isEbakError(e, 'CANCELLED')) throw new EbakError('INTERRUPTED', 'interrupted: stopped cleanly, nothing half-written', { cause: e });
    throw e;
  } finally {
    cancel = undefined;
  }
}
