/**
 * A bound on memory in bytes, not in tasks. The blob reader holds the bytes
 * of ranged reads in flight (read, or being opened in a worker) to it:
 * counting reads let eight of the largest (8 MiB each) be held at once, or as
 * few bytes as eight small ones, which then left the workers waiting. The
 * packer holds the blobs being sealed to one (packer.ts SEALING_BYTES).
 * Waiters are served in order (a large task is not overtaken for ever by
 * small ones); a task larger than the whole budget takes all of it.
 */
export class ByteBudget {
  private used = 0;
  private readonly waiting: { bytes: number; go: () => void }[] = [];

  constructor(readonly limit: number) {}

  /** Runs `task` once `bytes` are free, holding them until it settles. */
  async run<T>(bytes: number, task: () => Promise<T>): Promise<T> {
    await this.take(bytes);
    try {
      return await task();
    } finally {
      this.give(bytes);
    }
  }

  /** Takes `bytes` when they are free and nobody waits: no promise or closure, for a caller taking them per small blob. Give them back with `give`. */
  tryTake(bytes: number): boolean {
    const take = Math.min(bytes, this.limit);
    if (this.waiting.length > 0 || this.used + take > this.limit) return false;
    this.used += take;
    return true;
  }

  /** Takes `bytes` once they are free. Give them back with `give`. */
  async take(bytes: number): Promise<void> {
    if (this.tryTake(bytes)) return;
    await new Promise<void>((go) => this.waiting.push({ bytes: Math.min(bytes, this.limit), go }));
  }

  /** Gives back `bytes` taken (the same figure as taken): to the waiters in order, as many as then fit. */
  give(bytes: number): void {
    this.used -= Math.min(bytes, this.limit);
    for (let w = this.waiting[0]; w && this.used + w.bytes <= this.limit; w = this.waiting[0]) {
      this.waiting.shift();
      this.used += w.bytes;
      w.go();
    }
  }
}
