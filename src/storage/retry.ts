/**
 * Retry wrapper around any Backend: exponential backoff with full jitter.
 *
 * Only failures a backend marked `retryable` (5xx, SlowDown, timeouts,
 * connection resets: things that may succeed a moment later) are retried.
 * Everything else (NOT_FOUND, USAGE, NO_REPOSITORY, refused credentials,
 * untrusted certificates, local I/O errors) is permanent and passes through
 * at once. All Backend writes are idempotent (content-addressed names,
 * atomic saves), so repeating one after an unclear failure is safe; a save
 * from a ByteSource (source.ts) is read again from its first byte. An
 * aborted signal ends a backoff at once (CANCELLED), and a cancelled attempt
 * is never retried.
 */
import { EbakError } from '../errors.js';
import type { Backend, CallOptions, FileInfo, FileType } from './backend.js';
import { pause } from './cancel.js';
import { ForwardingBackend, type Operation } from './forward.js';

export interface RetryOptions {
  /** Total attempts per operation, the first included (default 6). */
  readonly attempts?: number;
  /** Backoff cap of the first retry; doubles per retry (default 200 ms). */
  readonly baseDelayMs?: number;
  /** Upper bound of one backoff (default 10 s). */
  readonly maxDelayMs?: number;
  /** Told about every retry (for progress output and tests). */
  readonly onRetry?: (info: { attempt: number; delayMs: number; error: EbakError }) => void;
}

const RETRYABLE = Symbol.for('ebak.storage.retryable');

/** Marks a backend failure as worth retrying; returns it for `throw retryable(...)`. */
export function retryable(e: EbakError): EbakError {
  Object.defineProperty(e, RETRYABLE, { value: true });
  return e;
}

export function isRetryable(e: unknown): e is EbakError {
  return e instanceof EbakError && (e as unknown as Record<symbol, unknown>)[RETRYABLE] === true;
}

export class RetryBackend extends ForwardingBackend {
  private readonly attempts: number;
  private readonly baseMs: number;
  private readonly maxMs: number;

  constructor(inner: Backend, private readonly opts: RetryOptions = {}) {
    super(inner);
    this.attempts = Math.max(1, opts.attempts ?? 6);
    this.baseMs = opts.baseDelayMs ?? 200;
    this.maxMs = opts.maxDelayMs ?? 10_000;
  }

  protected override forward<T>(_op: Operation, run: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    return this.run(run, signal);
  }

  /** Retried whole: it is idempotent (a restore already asked for is not asked again). */
  protected override prepare(run: () => Promise<void>, signal: AbortSignal | undefined): Promise<void> {
    return this.run(run, signal);
  }

  /** A listing that fails midway starts over and skips the names it already gave. */
  override async *list(type: FileType, opts?: CallOptions): AsyncIterable<FileInfo> {
    const seen = new Set<string>();
    for (let attempt = 1; ; attempt++) {
      try {
        for await (const fi of this.inner.list(type, opts)) {
          if (seen.has(fi.name)) continue;
          seen.add(fi.name);
          yield fi;
        }
        return;
      } catch (e) {
        await this.backoff(e, attempt, opts?.signal);
      }
    }
  }

  private async run<T>(op: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await op();
      } catch (e) {
        await this.backoff(e, attempt, signal);
      }
    }
  }

  /** Rethrows permanent failures and the last one; otherwise sleeps before the next attempt (CANCELLED when `signal` aborts). */
  private async backoff(e: unknown, attempt: number, signal: AbortSignal | undefined): Promise<void> {
    if (!isRetryable(e)) throw e;
    if (attempt >= this.attempts)
      throw new EbakError(e.code, `${e.message} (gave up after ${attempt} attempts)`, {
        cause: e,
        hint: e.hint ?? 'check the network and the storage service, then run the command again; nothing was lost',
      });
    // Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"):
    // spreads the retries of many clients instead of synchronising them.
    const cap = Math.min(this.maxMs, this.baseMs * 2 ** (attempt - 1));
    const delayMs = Math.round(Math.random() * cap);
    this.opts.onRetry?.({ attempt, delayMs, error: e });
    await pause(delayMs, signal, `retry after ${e.message}`);
  }
}
