/**
 * The vault benches' shared load (bench/vault.ts, bench/vault-replicas.ts):
 * `clients` concurrent loops, each sending login/start for its own account
 * on kept-alive pinned connections (the guess counter reset by a recovery
 * unlock every 90 tries, under a guess limit of 100), and percentiles.
 */
import { performance } from 'node:perf_hooks';
import * as opaque from '@serenity-kit/opaque';
import type { VaultClient } from '../src/vault/client/client.js';
import { RECOVERY } from '../test/vault/helpers.js';

export const pct = (xs: number[], p: number) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

export interface LoadFigures {
  perSecond: number;
  p50: number;
  p99: number;
  requests: number;
}

export async function loginStarts(c: VaultClient, accounts: readonly string[], seconds: number): Promise<LoadFigures> {
  await opaque.ready;
  const lat: number[] = [];
  const end = performance.now() + seconds * 1000;
  await Promise.all(accounts.map(async (a) => {
    let n = 0;
    while (performance.now() < end) {
      if (++n % 90 === 0) await c.unlock(a, RECOVERY);
      const t = performance.now();
      await c.channel.call('POST', '/v1/login/start', { account: a, request: opaque.client.startLogin({ password: 'x' }).startLoginRequest });
      lat.push(performance.now() - t);
    }
  }));
  return { perSecond: lat.length / seconds, p50: pct(lat, 50), p99: pct(lat, 99), requests: lat.length };
}
