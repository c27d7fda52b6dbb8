/**
 * What deleting a held pack early would cost (prune's `--dry-run` and
 * `--json`): S3 bills an object deleted or moved before its class's minimum
 * storage duration for the days left of it, so the charge is
 *   size (GiB) × days left ÷ 30 × the class's price per GB-month.
 * Prices: AWS's list prices for S3 storage in US East (N. Virginia), first
 * tier, https://aws.amazon.com/s3/pricing/ ("Storage pricing"), as read in
 * 2026; S3's GB is 2^30 bytes and a month is taken as 30 days. Other
 * regions, tiers and negotiated prices differ: the figure is an estimate
 * to weigh `--early-delete` by, not a bill. Pure: the clock is `now`.
 */
import { MIN_STORAGE_DAYS } from './prune-plan.js';

/** USD per GB-month (us-east-1, first tier) of the classes with a minimum storage duration. */
export const PRICE_PER_GB_MONTH: Readonly<Record<string, number>> = { STANDARD_IA: 0.0125, ONEZONE_IA: 0.01, GLACIER_IR: 0.004, GLACIER: 0.0036, DEEP_ARCHIVE: 0.00099 };

const DAY = 86_400_000;
const GIB = 2 ** 30;

/** USD S3 would bill for deleting `bytes` of `storageClass` at `now`, its minimum ending at `until` (ms); 0 past it or for a class without one. */
export function earlyDeleteUsd(bytes: number, storageClass: string, until: number, now: number): number {
  const price = PRICE_PER_GB_MONTH[storageClass];
  if (price === undefined || MIN_STORAGE_DAYS[storageClass] === undefined || until <= now) return 0;
  return (bytes / GIB) * (Math.ceil((until - now) / DAY) / 30) * price;
}

/** A dollar figure as prune prints it: cents, or "< $0.01". */
export function formatUsd(usd: number): string {
  return usd > 0 && usd < 0.005 ? '< $0.01' : `$${usd.toFixed(2)}`;
}
