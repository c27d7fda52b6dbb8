/**
 * A run's cancellation around any Backend (restic's context: "a cancelled
 * context prevents repository modifications"): once `cancelWith` has named
 * a signal, every call carries it as well as its own (CallOptions), so when
 * it aborts, requests in flight, backoffs, bandwidth waits and restores from
 * archive storage stop at once with CANCELLED (storage/cancel.ts).
 *
 * Lock objects and index files are exempt: they are the bookkeeping of a
 * clean stop. A cancelled run still releases its lock and indexes the packs
 * it saved (Packer.abandon), as a cancelled backup promises.
 */
import type { CallOptions, FileType } from './backend.js';
import { ForwardingBackend } from './forward.js';

const EXEMPT: ReadonlySet<FileType> = new Set(['locks', 'index']);

export class SignalBackend extends ForwardingBackend {
  private signal: AbortSignal | undefined;

  /** From now on every call (but those on locks and index files) also stops when `signal` aborts. */
  cancelWith(signal: AbortSignal): void {
    this.signal = signal;
  }

  protected override passed<O extends CallOptions>(type: FileType | undefined, opts: O | undefined): O | undefined {
    const run = this.signal;
    if (run === undefined || (type !== undefined && EXEMPT.has(type))) return opts;
    const own = opts?.signal;
    return { ...opts, signal: own === undefined ? run : AbortSignal.any([run, own]) } as O;
  }
}
