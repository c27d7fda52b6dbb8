/**
 * The early-delete estimate prune prints for held packs (src/retention/prune-cost.ts):
 * size × days left of the class's minimum ÷ 30 × its list price, nothing past the
 * minimum or for a class without one.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { earlyDeleteUsd, formatUsd, PRICE_PER_GB_MONTH } from '../../src/retention/prune-cost.js';
import { MIN_STORAGE_DAYS } from '../../src/retention/prune-plan.js';

const DAY = 86_400_000;
const GIB = 2 ** 30;
const now = Date.UTC(2026, 0, 1);

it('bytes × days left ÷ 30 × the class price, part days counted whole; 0 past the minimum or without one', () => {
  const cases: [number, string, number, number][] = [
    // bytes, class, days left, expected USD
    [GIB, 'STANDARD_IA', 30, 0.0125],
    [10 * GIB, 'STANDARD_IA', 15, 0.0625],
    [GIB, 'GLACIER_IR', 90, 0.012],
    [100 * GIB, 'DEEP_ARCHIVE', 180, 0.594],
    [GIB, 'GLACIER', 0.5, 0.0036 / 30],
    [GIB, 'STANDARD_IA', 0, 0],
    [GIB, 'STANDARD_IA', -3, 0],
    [GIB, 'STANDARD', 30, 0],
  ];
  for (const [bytes, cls, days, usd] of cases) {
    const got = earlyDeleteUsd(bytes, cls, now + days * DAY, now);
    assert.ok(Math.abs(got - usd) < 1e-9, `${cls} ${days} days: ${got}, not ${usd}`);
  }
});

it('every class with a minimum storage duration has a price', () => {
  assert.deepEqual(Object.keys(PRICE_PER_GB_MONTH).sort(), Object.keys(MIN_STORAGE_DAYS).sort());
});

it('formats cents, and a charge below a cent as such', () => {
  assert.deepEqual([0, 0.001, 0.0125, 12.345].map(formatUsd), ['$0.00', '< $0.01', '$0.01', '$12.35']);
});
