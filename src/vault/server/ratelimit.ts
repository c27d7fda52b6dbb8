/** Token buckets per key (account, client address); in vault memory, so a restart refills them. */
export interface RateLimit {
  /** Requests allowed at once. */
  burst: number;
  /** Refill rate. */
  perMinute: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly limit: RateLimit, private readonly now: () => number = Date.now) {}

  /** Seconds to wait, or 0 when the request may go ahead (and is counted). */
  take(key: string): number {
    const t = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.limit.burst, at: t };
    b.tokens = Math.min(this.limit.burst, b.tokens + ((t - b.at) / 60_000) * this.limit.perMinute);
    b.at = t;
    this.buckets.set(key, b);
    if (this.buckets.size > 100_000) this.prune();
    if (b.tokens < 1) return Math.ceil(((1 - b.tokens) * 60) / this.limit.perMinute);
    b.tokens -= 1;
    return 0;
  }

  private prune(): void {
    for (const [k, b] of this.buckets) if (b.tokens >= this.limit.burst - 1) this.buckets.delete(k);
  }
}
