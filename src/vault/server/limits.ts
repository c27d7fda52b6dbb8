/**
 * Rate limits for every endpoint, shared by the replicas (ratelimit.ts says
 * how, and what precision it gives up). Every request is charged to its
 * address first (behind a proxy that speaks PROXY protocol v2: the client's
 * address the proxy names, proxy.ts). An account's bucket is charged only by
 * calls that concern that account and were not refused before any work for
 * it: a counted guess (login start) or a request whose device token verified.
 * So nobody can drain another's bucket with requests the vault refuses
 * (registration attempts for a taken name, bad tokens). Registration has a
 * stricter bucket per address of its own.
 */
import { VaultRefusal } from '../protocol.js';
import type { BucketStore } from '../state/volatile.js';
import { RateLimiter, type RateLimit } from './ratelimit.js';

export interface LimitOptions {
  accountRate?: RateLimit;
  addressRate?: RateLimit;
  registerRate?: RateLimit;
}

/** Buckets idle this long are deleted from the store (every bucket has refilled by then). */
const IDLE_MS = 24 * 3600_000;
const PURGE_EVERY_MS = 5 * 60_000;

export class Limits {
  private readonly byAccount: RateLimiter;
  private readonly byAddress: RateLimiter;
  private readonly registrations: RateLimiter;
  private purged = 0;

  constructor(o: LimitOptions, private readonly store: BucketStore, private readonly now: () => number) {
    this.byAccount = new RateLimiter('acct', o.accountRate ?? { burst: 60, perMinute: 60 }, store, now);
    this.byAddress = new RateLimiter('addr', o.addressRate ?? { burst: 300, perMinute: 600 }, store, now);
    this.registrations = new RateLimiter('reg', o.registerRate ?? { burst: 20, perMinute: 2 }, store, now);
  }

  async address(address: string): Promise<void> {
    refuse(await this.byAddress.take(address), `too many requests from ${address}`);
  }

  async account(account: string): Promise<void> {
    refuse(await this.byAccount.take(account), `too many requests for account ${account}`);
  }

  async registration(address: string): Promise<void> {
    refuse(await this.registrations.take(address), `too many registrations from ${address}`);
  }

  /** Deletes idle buckets now and then (any replica may). */
  async sweep(): Promise<void> {
    const t = this.now();
    if (t - this.purged < PURGE_EVERY_MS) return;
    this.purged = t;
    await this.store.purgeBuckets(t - IDLE_MS);
  }
}

function refuse(wait: number, what: string): void {
  if (wait > 0) throw new VaultRefusal('rate_limited', `${what}; retry in ${wait} s`, { retry_after: wait });
}
