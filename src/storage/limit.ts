/**
 * Concurrency limit around any Backend: at most `connections` operations run
 * at once; the rest wait in FIFO order. Placed below the retry wrapper, so a
 * request sleeping in backoff does not hold a slot.
 */
import { Semaphore } from '../util/semaphore.js';
import type { Backend, ByteRange, FileInfo, FileType, Handle, SaveOptions } from './backend.js';

export class LimitBackend implements Backend {
  readonly location: string;
  private readonly sem: Semaphore;
  /** Holds no slot: it may wait hours, and bounds its own requests. */
  readonly prepareRead?: Backend['prepareRead'];

  constructor(private readonly inner: Backend, connections: number) {
    this.location = inner.location;
    this.prepareRead = inner.prepareRead?.bind(inner);
    this.sem = new Semaphore(connections);
  }

  create(): Promise<void> {
    return this.sem.run(() => this.inner.create());
  }
  isRepository(): Promise<boolean> {
    return this.sem.run(() => this.inner.isRepository());
  }
  save(h: Handle, data: Uint8Array, opts?: SaveOptions): Promise<void> {
    return this.sem.run(() => this.inner.save(h, data, opts));
  }
  load(h: Handle, range?: ByteRange): Promise<Buffer> {
    return this.sem.run(() => this.inner.load(h, range));
  }
  stat(h: Handle): Promise<FileInfo> {
    return this.sem.run(() => this.inner.stat(h));
  }
  remove(h: Handle): Promise<void> {
    return this.sem.run(() => this.inner.remove(h));
  }
  close(): Promise<void> {
    return this.inner.close();
  }

  /**
   * Holds a slot only while fetching the next entry (one page request at
   * most), never while the caller works on an entry: a caller that loads
   * objects inside a listing loop cannot deadlock the limit.
   */
  async *list(type: FileType): AsyncIterable<FileInfo> {
    const it = this.inner.list(type)[Symbol.asyncIterator]();
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
