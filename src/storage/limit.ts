/**
 * Concurrency limit around any Backend: at most `connections` operations run
 * at once; the rest wait in FIFO order. Placed below the retry wrapper, so a
 * request sleeping in backoff does not hold a slot.
 */
import { Semaphore } from '../util/semaphore.js';
import type { Backend, CallOptions, FileInfo, FileType } from './backend.js';
import { ForwardingBackend, type Operation } from './forward.js';

export class LimitBackend extends ForwardingBackend {
  private readonly sem: Semaphore;

  /** prepareRead is forwarded as is and holds no slot: it may wait hours, and bounds its own requests. */
  constructor(inner: Backend, connections: number) {
    super(inner);
    this.sem = new Semaphore(connections);
  }

  protected override forward<T>(_op: Operation, run: () => Promise<T>): Promise<T> {
    return this.sem.run(run);
  }

  /**
   * Holds a slot only while fetching the next entry (one page request at
   * most), never while the caller works on an entry: a caller that loads
   * objects inside a listing loop cannot deadlock the limit.
   */
  override async *list(type: FileType, opts?: CallOptions): AsyncIterable<FileInfo> {
    const it = this.inner.list(type, opts)[Symbol.asyncIterator]();
    try {
      for (;;) {
        const r = await this.sem.run(() => it.next());
        if (r.done) return;
        yield r.value;
      }
    } finally {
      await it.return?.();
    }
  }
}
