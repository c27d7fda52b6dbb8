/**
 * The blob reader's bound on memory: the bytes of ranged reads in flight
 * (read, or being opened in a worker), not their number. Counting reads let
 * eight of the largest (8 MiB each) be held at once, or as few bytes as
 * eight small ones, which then left the workers waiting; a budget in bytes
 * holds memory to the same figure whatever the runs' sizes. Waiters are
 * served in order (a large read is not overtaken for ever by small ones).
 */
export class ByteBudget {
  private used = 0;
  private readonly waiting: { bytes: number; go: () => void }[] = [];

  constructor(readonly limit: number) {}

  /** Runs `task` once `bytes` (at most the whole budget) are free, holding them until it settles. */
  async run<T>(bytes: number, task: () => Promise<T>): Promise<T> {
    const take = Math.min(bytes, this.limit);
    await this.acquire(take);
    try {
      return await task();
    } finally {
      this.release(take);
    }
  }

  private acquire(bytes: number): Promise<void> | undefined {
    if (this.waiting.length === 0 && this.used + bytes <= this.limit) {
      this.used += bytes;
      return undefined;
    }
    return new Promise((go) => this.waiting.push({ bytes, go }));
  }

  private release(bytes: number): void {
    this.used -= bytes;
    for (let w = this.waiting[0]; w && this.used + w.bytes <= this.limit; w = this.waiting[0]) {
      this.waiting.shift();
      this.used += w.bytes;
      w.go();
    }
  }
}
