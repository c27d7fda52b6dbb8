/**
 * What a directory being restored waits for: the writes of its files and
 * the completion of its subdirectories, counted rather than kept. A
 * settled one leaves nothing behind (a directory of 2 million files held
 * 2 million promises until its last was written), only the first failure.
 */
export class Outstanding {
  private left = 0;
  private failure: { error: unknown } | undefined;
  private closed = false;
  private wake: (() => void) | undefined;

  /** Counts `work` until it settles. */
  add(work: Promise<void>): void {
    const end = this.begin();
    work.then(() => end(), (e: unknown) => end({ error: e }));
  }

  /** Counts one piece of work until the function returned is called (once), with its failure if it failed: no promise needed. */
  begin(): (failed?: { error: unknown }) => void {
    this.left++;
    return (failed) => {
      if (failed) this.failure ??= failed;
      this.settled();
    };
  }

  /** Resolves once everything added has settled (no more is added); rejects then with the first failure. */
  async all(): Promise<void> {
    this.closed = true;
    if (this.left > 0) await new Promise<void>((r) => (this.wake = r));
    if (this.failure) throw this.failure.error;
  }

  private settled(): void {
    if (--this.left === 0 && this.closed) this.wake?.();
  }
}
