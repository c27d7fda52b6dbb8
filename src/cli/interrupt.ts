/**
 * Ctrl-C, restic's way, and SIGTERM alike. The first signal during an
 * operation that can stop cleanly (backup, restore, check: they take an
 * AbortSignal) cancels it, and the storage calls it has in flight or waits
 * on: it saves what it wrote, releases its lock, and the command exits 130.
 * A second signal, or the first at any other moment (start-up included:
 * bin/ebak installs this before the rest of the CLI loads), removes this
 * process's locks, those being taken included, and exits 130 at once (what
 * was written is crash-safe by design; the lock is what a kill would leave).
 */
import { EbakError, isEbakError } from '../errors.js';
import { releaseHeldLocks } from '../repository/locks.js';
import { exitCodeFor } from './exit.js';

let cancel: (() => void) | undefined;
let signals = 0;
let installed = false;
const stopping = new AbortController();

/**
 * Aborted by the first SIGINT or SIGTERM during an operation that stops
 * cleanly: that operation and every storage call of this process stop
 * (session.ts hands it to the storage of every repository it opens).
 */
export const interruptSignal: AbortSignal = stopping.signal;

/** Installed once, as early as bin/ebak can (and again by main(), which does nothing then): from then on SIGINT and SIGTERM are handled here. */
export function handleInterrupts(): void {
  if (installed) return;
  installed = true;
  process.on('SIGINT', interrupt);
  // A command that stops on SIGTERM itself (a server, the daemon) listens too: the first SIGTERM is its own.
  process.on('SIGTERM', () => {
    if (process.listenerCount('SIGTERM') === 1) interrupt();
  });
}

function interrupt(): void {
  signals++;
  if (signals === 1 && cancel) return cancel();
  void releaseHeldLocks().finally(() => process.exit(exitCodeFor('INTERRUPTED')));
}

/**
 * Runs `fn` with a signal that the first SIGINT or SIGTERM aborts; a
 * cancellation it caused is INTERRUPTED (exit 130), not an ordinary CANCELLED.
 */
export async function interruptible<T>(warn: (m: string) => void, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  cancel = () => {
    warn('cancelling (press Ctrl-C again to stop at once)');
    stopping.abort();
  };
  try {
    return await fn(stopping.signal);
  } catch (e) {
    if (stopping.signal.aborted && isEbakError(e, 'CANCELLED')) throw new EbakError('INTERRUPTED', 'interrupted: stopped cleanly, nothing half-written', { cause: e });
    throw e;
  } finally {
    cancel = undefined;
  }
}
