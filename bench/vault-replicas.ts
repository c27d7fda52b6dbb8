/**
 * Vault replica curve (node dist/bench/vault-replicas.js [seconds] [clients]):
 * login/start throughput and p50/p99 at `clients` (default 64) concurrent
 * clients for 1 `ebak vault serve` process on SQLite, then 1, 2 and 3 of
 * three processes on one PostgreSQL database (the accounts registered
 * once; the balancer sends new connections to the first k), behind one address (the round-robin
 * balancer of test/vault/replicaset.ts, which sends PROXY v2 headers), one
 * SoftHSM token, real TLS, limits raised by flags. Each start: OPAQUE KE2,
 * the guess counter durable in the store and under the HSM register (group
 * committed per process), the pending login in the shared table, a signed
 * audit entry. Prints one table row per configuration and the load average.
 */
import { loadavg } from 'node:os';
import { VaultClient } from '../src/vault/client/client.js';
import { K, RECOVERY } from '../test/vault/helpers.js';
import { startReplicaSet } from '../test/vault/replicaset.js';
import { loginStarts } from './vault-load.js';

const seconds = Number(process.argv[2] ?? 10);
const clients = Number(process.argv[3] ?? 64);
const FLAGS = ['--guess-limit', '100', '--rate-per-address', '1000000', '--rate-per-account', '1000000', '--rate-register', '1000000'];

/** One row: `clients` accounts registered once per set, then login/start for `seconds` through the first k replicas. */
async function measure(store: 'sqlite' | 'postgres', replicas: number, uses: number[]): Promise<void> {
  const set = await startReplicaSet({ store, replicas, flags: FLAGS });
  try {
    const accounts = Array.from({ length: clients }, (_, i) => `bench${i}`);
    const setup = await VaultClient.connect(set.url, set.trust);
    for (const a of accounts) await setup.register(a, 'pw', K, RECOVERY, 'd');
    setup.channel.close();
    for (const k of uses) {
      set.use(k);
      const c = await VaultClient.connect(set.url, set.trust); // a new client: its connections go to the k replicas
      await Promise.all(accounts.map(() => c.status())); // open the pinned connections first
      // Guess counters start at 0 in every row: loginStarts unlocks every 90 of its own tries, and a faster row
      // before it could leave an account close enough to the limit of 100 to be locked in this one.
      for (const a of accounts) await c.unlock(a, RECOVERY);
      const f = await loginStarts(c, accounts, seconds);
      console.log(`| ${store} | ${k} | ${f.perSecond.toFixed(0)}/s | ${f.p50.toFixed(0)} ms | ${f.p99.toFixed(0)} ms | ${f.requests} | ${loadavg()[0]!.toFixed(1)} |`);
      c.channel.close();
    }
  } finally {
    // A refusal the load generator counted as an error: its cause is only in the replica's stderr.
    for (const line of set.logged(/internal error/)) console.error(line);
    await set.stop();
  }
}

console.log(`| store | replicas | login/start at ${clients} clients | p50 | p99 | requests | load average (1 min) |`);
console.log('|---|---|---|---|---|---|---|');
await measure('sqlite', 1, [1]);
await measure('postgres', 3, [1, 2, 3]);
