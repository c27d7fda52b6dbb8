/**
 * Token buckets per key (client address, account, registrations), shared by
 * every replica on one store (state/volatile.ts), with a replica-local
 * pre-check in front.
 *
 *  - The local bucket (same burst and refill, charged only by this replica's
 *    requests) holds at least as many tokens as the shared one, so when it
 *    refuses, the shared one would too: a flood is refused without a store call.
 *  - The shared bucket is not asked once per request: a replica takes a
 *    lease of tokens (1 at first, doubling while a key stays busy, at most
 *    burst/8) and spends it locally for up to a second; unused tokens go back
 *    with its next lease. So a key is never granted more than its limit
 *    across replicas (clock skew between replicas aside), and with r replicas
 *    a client may be refused up to (r-1)·burst/8 requests early, tokens other
 *    replicas hold. A replica that dies loses its leases (counted as spent).
 *  - A refusal is remembered for up to a second, so a refused key costs one
 *    store call per second per replica.
 */
import type { BucketStore } from '../state/volatile.js';

export interface RateLimit {
  /** Requests allowed at once. */
  burst: number;
  /** Refill rate. */
  perMinute: number;
}

interface Local {
  tokens: number;
  at: number;
}

interface Lease {
  left: number;
  until: number;
  size: number;
  /** Seconds to wait: the shared bucket refused this lease. */
  wait: number;
  pending?: Promise<void>;
}

const LEASE_MS = 1000;
const MAX_KEYS = 100_000;

export class RateLimiter {
  private readonly local = new Map<string, Local>();
  private readonly leases = new Map<string, Lease>();
  private readonly maxLease: number;

  constructor(private readonly name: string, private readonly limit: RateLimit, private readonly store: BucketStore, private readonly now: () => number = Date.now) {
    this.maxLease = Math.max(1, Math.floor(limit.burst / 8));
  }

  /** Seconds to wait, or 0 when the request may go ahead (and is counted). */
  async take(key: string): Promise<number> {
    const wait = this.takeLocal(key);
    if (wait > 0) return wait;
    const shared = await this.takeShared(key);
    if (shared > 0) this.refundLocal(key); // refused: not charged here either
    return shared;
  }

  private takeLocal(key: string): number {
    const t = this.now();
    const b = this.local.get(key) ?? { tokens: this.limit.burst, at: t };
    b.tokens = Math.min(this.limit.burst, b.tokens + ((t - b.at) / 60_000) * this.limit.perMinute);
    b.at = t;
    this.local.set(key, b);
    if (this.local.size > MAX_KEYS) this.prune();
    if (b.tokens < 1) return this.waitFor(b.tokens);
    b.tokens -= 1;
    return 0;
  }

  private refundLocal(key: string): void {
    const b = this.local.get(key);
    if (b) b.tokens = Math.min(this.limit.burst, b.tokens + 1);
  }

  private async takeShared(key: string): Promise<number> {
    for (;;) {
      const l = this.leases.get(key);
      if (l?.pending) {
        await l.pending;
        continue;
      }
      const t = this.now();
      if (l && l.until > t && l.left > 0) {
        l.left -= 1;
        return 0;
      }
      if (l && l.until > t && l.wait > 0) return l.wait;
      await this.renew(key, l);
    }
  }

  /** A new lease from the shared bucket, giving back what the old one did not use. */
  private renew(key: string, old: Lease | undefined): Promise<void> {
    const t = this.now();
    const size = !old ? 1 : old.left > 0 ? Math.max(1, old.size >> 1) : old.until > t ? Math.min(this.maxLease, old.size * 2) : old.size;
    const lease: Lease = { left: 0, until: 0, size, wait: 0 };
    const request = { key: `${this.name}:${key}`, burst: this.limit.burst, perMinute: this.limit.perMinute, want: size, refund: old?.left ?? 0, now: t };
    lease.pending = this.store.takeTokens(request).then(
      (r) => {
        lease.left = r.granted;
        lease.wait = r.granted > 0 ? 0 : this.waitFor(r.tokens);
        lease.until = this.now() + Math.min(LEASE_MS, lease.wait * 1000 || LEASE_MS);
      },
      (e: unknown) => {
        this.leases.delete(key);
        throw e;
      },
    ).finally(() => {
      lease.pending = undefined;
    });
    this.leases.set(key, lease);
    return lease.pending;
  }

  private waitFor(tokens: number): number {
    return Math.max(1, Math.ceil(((1 - tokens) * 60) / this.limit.perMinute));
  }

  /** Full local buckets and idle leases (an idle lease's tokens are lost: counted as spent). */
  private prune(): void {
    const t = this.now();
    for (const [k, b] of this.local) if (b.tokens >= this.limit.burst - 1) this.local.delete(k);
    for (const [k, l] of this.leases) if (!l.pending && l.until <= t) this.leases.delete(k);
  }
}
