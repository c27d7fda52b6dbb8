/**
 * Vault figures (node dist/bench/vault.js [seconds]): attestation
 * verification time; the time for 64 clients to open their pinned TLS
 * connections at once; then login/start throughput and p50/p99 latency with
 * 64 concurrent clients on those kept-alive connections (each start = OPAQUE
 * KE2 + sealed counter write + HSM counter + signed audit entry, group
 * committed); full logins (client Argon2 finish included) per second with 2
 * in flight.
 * Real parts: SoftHSM2 token, SQLite file, TLS on 127.0.0.1.
 */
import { performance } from 'node:perf_hooks';
import * as opaque from '@serenity-kit/opaque';
import { verifyAttestation } from '../src/attestation/index.js';
import { K, RECOVERY, lab } from '../test/vault/helpers.js';

const seconds = Number(process.argv[2] ?? 10);
const pct = (xs: number[], p: number) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

const l = await lab();
try {
  const v = await l.start({ policy: { guess_limit: 100 }, accountRate: { burst: 1e9, perMinute: 1e9 }, addressRate: { burst: 1e9, perMinute: 1e9 }, registerRate: { burst: 1e9, perMinute: 1e9 } });
  const c = await v.client();
  await opaque.ready;
  const accounts = Array.from({ length: 64 }, (_, i) => `bench${i}`);
  for (const a of accounts) await c.register(a, 'pw', K, RECOVERY, 'd');

  const doc = await (await c.channel.request('GET', `/v1/attestation?nonce=${'00'.repeat(32)}`)).body;
  const tv: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t = performance.now();
    verifyAttestation(doc, { root: l.ca.root.cert, pcrs: l.trust.pcrs });
    tv.push(performance.now() - t);
  }
  console.log(`attestation verification: p50 ${pct(tv, 50).toFixed(2)} ms, p99 ${pct(tv, 99).toFixed(2)} ms`);

  // Connection setup apart from steady state: a TLS handshake needs more event-loop turns than a request, so
  // handshakes made while 60 connections are busy finish last and would dominate the window's tail.
  const t1 = performance.now();
  await Promise.all(accounts.map(() => c.status()));
  console.log(`64 pinned TLS connections opened at once: ${(performance.now() - t1).toFixed(0)} ms (${c.channel.connections} connections)`);

  // 64 concurrent clients, each looping login/start on its own account (counter reset by unlock every 90 tries).
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
  console.log(`login/start at 64 concurrent clients: ${(lat.length / seconds).toFixed(0)}/s, p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms (${lat.length} requests)`);

  const full: number[] = [];
  const t0 = performance.now();
  await Promise.all([0, 1].map(async (w) => {
    for (let i = 0; i < 4; i++) {
      const t = performance.now();
      await c.login(accounts[w]!, 'pw', 'bench');
      full.push(performance.now() - t);
    }
  }));
  console.log(`full logins (client OPAQUE finish included), 2 in flight: ${(full.length / ((performance.now() - t0) / 1000)).toFixed(2)}/s, p50 ${pct(full, 50).toFixed(0)} ms`);
} finally {
  await l.cleanup();
}
