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
    return this.release;
  }

  /** Takes a slot when one is free and nobody waits (no promise, no turn of the event loop); undefined otherwise. */
  tryAcquire(): (() => void) | undefined {
    if (this.free === 0 || this.waiting.length > 0) return undefined;
    this.free--;
    return this.release;
  }

  /** Gives a slot back: straight to the next waiter, or to the free count. */
  private readonly release = (): void => {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  };
}
