/**
 * Cancelling storage calls (the `signal` of Backend CallOptions, backend.ts):
 * a call whose signal is aborted, before it starts, while its request is in
 * flight or while it waits (a retry's backoff, a bandwidth limit, a restore
 * from archive storage), fails with EbakError('CANCELLED') at once. Never
 * retryable: the caller asked for the stop.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { EbakError } from '../errors.js';

export function cancelled(what: string, cause?: unknown): EbakError {
  return new EbakError('CANCELLED', `${what}: cancelled`, cause === undefined ? {} : { cause });
}

/** Throws CANCELLED when `signal` is aborted (`what` is only built then: this runs before every blob read). */
export function checkCancelled(signal: AbortSignal | undefined, what: () => string): void {
  if (signal?.aborted) throw cancelled(what(), signal.reason);
}

/** Waits `ms`, or until `signal` aborts (CANCELLED). */
export async function pause(ms: number, signal: AbortSignal | undefined, what: string): Promise<void> {
  checkCancelled(signal, () => what);
  try {
    await sleep(ms, undefined, signal ? { signal } : {});
  } catch (e) {
    throw cancelled(what, e);
  }
}
