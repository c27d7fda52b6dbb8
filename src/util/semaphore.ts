/** Bounds how many async tasks run at once; waiters are served in FIFO order. */
import { EbakError } from '../errors.js';

export class Semaphore {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new EbakError('USAGE', `concurrency limit must be a positive integer, got ${size}`);
    this.free = size;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await task();
    } finally {
      release();
    }
  }

  /** Takes a slot; the function returned gives it back (call it once). */
  async acquire(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((r) => this.waiting.push(r));
    return () => {
      // Hand the slot straight to the next waiter, or return it.
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}
