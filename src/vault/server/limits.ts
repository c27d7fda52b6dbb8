/**
 * Rate limits for every endpoint. Every request is charged to its address
 * first. An account's bucket is charged only by calls that concern that
 * account and were not refused before any work for it: a counted guess
 * (login start) or a request whose device token verified. So nobody can
 * drain another's bucket with requests the vault refuses (registration
 * attempts for a taken name, bad tokens). Registration has a stricter bucket
 * per address of its own. In vault memory: a restart refills them.
 */
import { VaultRefusal } from '../protocol.js';
import { RateLimiter, type RateLimit } from './ratelimit.js';

export interface LimitOptions {
  accountRate?: RateLimit;
  addressRate?: RateLimit;
  registerRate?: RateLimit;
}

export class Limits {
  private readonly byAccount: RateLimiter;
  private readonly byAddress: RateLimiter;
  private readonly registrations: RateLimiter;

  constructor(o: LimitOptions, now: () => number) {
    this.byAccount = new RateLimiter(o.accountRate ?? { burst: 60, perMinute: 60 }, now);
    this.byAddress = new RateLimiter(o.addressRate ?? { burst: 300, perMinute: 600 }, now);
    this.registrations = new RateLimiter(o.registerRate ?? { burst: 20, perMinute: 2 }, now);
  }

  address(address: string): void {
    refuse(this.byAddress.take(address), `too many requests from ${address}`);
  }

  account(account: string): void {
    refuse(this.byAccount.take(account), `too many requests for account ${account}`);
  }

  registration(address: string): void {
    refuse(this.registrations.take(address), `too many registrations from ${address}`);
  }
}

function refuse(wait: number, what: string): void {
  if (wait > 0) throw new VaultRefusal('rate_limited', `${what}; retry in ${wait} s`, { retry_after: wait });
}
