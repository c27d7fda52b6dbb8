/**
 * Vault figures (node dist/bench/vault.js [seconds] [clients]), measured
 * against `ebak vault serve` started as an operator would: its own process,
 * real TLS, a SoftHSM2 token, a SQLite file, the simulated platform (dev CA,
 * key service) through the real CLI, rate limits raised by flags. Prints:
 * attestation verification time; the time for the clients to open their
 * pinned TLS connections at once; login/start throughput and p50/p99 latency
 * with `clients` (default 64) concurrent clients on kept-alive connections
 * (each start = OPAQUE KE2 + guess counter durable in the store and under
 * the HSM register + signed audit entry, group committed); full logins
 * (client Argon2 finish included) per second with 2 in flight.
 * `--rate R[,R...]` adds open-loop rows: starts due at R per second on
 * `clients` connections, latency from the due time (bench/vault-load.ts).
 * `--wrk` adds a closed-loop row by Debian's `wrk` (bench/wrk-login.lua),
 * at most 5 s (the guess limit).
 * Every row prints p50/p99/p99.9 and the serve process's CPU per start
 * (all threads, and its main thread). The client's OPAQUE KE1s are made
 * before the window (bench/vault-load.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as opaque from '@serenity-kit/opaque';
import { loadRoot, verifyAttestation } from '../src/attestation/index.js';
import { VaultClient } from '../src/vault/client/client.js';
import { vaultMeasurements } from '../src/vault/measure.js';
import { startServer } from '../test/cli/server.js';
import { PIN, softhsm } from '../test/hsm/softhsm.js';
import { K, RECOVERY } from '../test/vault/helpers.js';
import { loginStarts, pct, wrkStarts, type LoadFigures } from './vault-load.js';
import { startPlatform } from '../test/vault/platform.js';

const args = process.argv.slice(2);
const rateAt = args.indexOf('--rate');
const rates = rateAt >= 0 ? args.splice(rateAt, 2)[1]!.split(',').map(Number) : [];
const wrkAt = args.indexOf('--wrk');
const wrk = wrkAt >= 0 && args.splice(wrkAt, 1).length > 0;
const seconds = Number(args[0] ?? 10);
const clients = Number(args[1] ?? 64);

const figures = (f: LoadFigures) => `p50 ${f.p50.toFixed(1)} ms, p99 ${f.p99.toFixed(1)} ms, ${Number.isNaN(f.p999) ? '' : `p99.9 ${f.p999.toFixed(1)} ms `}(${f.requests} requests), `
  + `serve CPU ${f.cpu!.process.toFixed(2)} ms/start (main thread ${f.cpu!.main.toFixed(2)}), load generator ${f.cpu!.generator.toFixed(2)} ms/start, other processes ${f.cpu!.otherCores.toFixed(2)} cores, load ${loadavg()[0]!.toFixed(2)}`;

const dir = mkdtempSync(join(tmpdir(), 'ebak-bench-'));
const token = softhsm(['vault']);
const platform = await startPlatform(dir);
// EBAK_BENCH_SERVE_NODE_OPTIONS reaches the `vault serve` process only, to profile it: "--require <a script starting node:inspector's Profiler>" (NODE_OPTIONS refuses --cpu-prof).
const profile = process.env.EBAK_BENCH_SERVE_NODE_OPTIONS;
// EBAK_BENCH_SERVE_FLAGS: more `vault serve` flags, space-separated (e.g. "--opaque-threads 2"), to compare settings of one build.
const serveFlags = (process.env.EBAK_BENCH_SERVE_FLAGS ?? '').split(' ').filter(Boolean);
const env = { SOFTHSM2_CONF: process.env.SOFTHSM2_CONF!, EBAK_HSM_TOKEN: 'vault', EBAK_HSM_PIN: PIN, ...platform.credentials, ...(profile ? { NODE_OPTIONS: profile } : {}) };
const serve = await startServer(['vault', 'serve', '--dir', join(dir, 'vault'), '--devca', platform.devca, '--listen', '127.0.0.1:0', '--registration', 'open',
  '--guess-limit', '100', '--rate-per-address', '1000000', '--rate-per-account', '1000000', '--rate-register', '1000000', ...platform.kmsFlags, ...serveFlags], env);
try {
  const m = vaultMeasurements();
  const trust = { root: loadRoot(readFileSync(platform.root, 'utf8')), pcrs: { 0: m.PCR0, 1: m.PCR1, 2: m.PCR2 } };
  const c = await VaultClient.connect(serve.url, trust);
  await opaque.ready;
  const accounts = Array.from({ length: clients }, (_, i) => `bench${i}`);
  for (const a of accounts) await c.register(a, 'pw', K, RECOVERY, 'd');

  const doc = await (await c.channel.request('GET', `/v1/attestation?nonce=${'00'.repeat(32)}`)).body;
  const tv: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t = performance.now();
    verifyAttestation(doc, trust);
    tv.push(performance.now() - t);
  }
  console.log(`attestation verification: p50 ${pct(tv, 50).toFixed(2)} ms, p99 ${pct(tv, 99).toFixed(2)} ms`);

  // Connection setup apart from steady state: handshakes made while the other connections are busy would dominate the window's tail.
  const t1 = performance.now();
  await Promise.all(accounts.map(() => c.status()));
  console.log(`${clients} pinned TLS connections opened at once: ${(performance.now() - t1).toFixed(0)} ms (${c.channel.connections} connections)`);

  // Concurrent clients, each looping login/start on its own account (bench/vault-load.ts).
  const f = await loginStarts(c, accounts, seconds, { pid: serve.pid });
  console.log(`login/start at ${clients} concurrent clients: ${f.perSecond.toFixed(0)}/s, ${figures(f)}`);
  for (const rate of rates) {
    for (const a of accounts) await c.unlock(a, RECOVERY); // every row starts its counters at 0 (see bench/vault-replicas.ts)
    const o = await loginStarts(c, accounts, seconds, { pid: serve.pid, rate });
    console.log(`login/start offered ${rate}/s on ${clients} connections (open loop): ${o.perSecond.toFixed(0)}/s, ${figures(o)}, ${c.channel.connections} connections opened so far`);
  }
  if (wrk) {
    for (const a of accounts) await c.unlock(a, RECOVERY);
    const w = await wrkStarts(c, accounts, Math.min(seconds, 5), serve.pid, dir);
    console.log(`login/start by wrk, ${clients} connections (closed loop): ${w.perSecond.toFixed(0)}/s, ${figures(w)}`);
  }

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
  c.channel.close();
} finally {
  const served = await serve.stop();
  // A refusal counted as an error above: its cause is only in the server's stderr.
  if (/internal error/.test(served.stderr)) console.error(served.stderr);
  await platform.keyService.stop();
  token.cleanup();
  rmSync(dir, { recursive: true, force: true });
}
