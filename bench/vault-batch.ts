/**
 * The in-process batch profile (node dist/bench/vault-batch.js [seconds] [clients]): a lab vault
 * (real TLS, SoftHSM2, SQLite; the clients in the same process) under `clients` (default 64)
 * looping login/start, and where a start's time goes: each step timed by a wrapper around the
 * real method (the read with its register read window, the seal, the batch's serial section,
 * the audit chain's carry, the store transaction, the register read and write) and the HSM
 * session pool's wraps and unwraps counted. Prints the throughput, then n / p50 / p90 / mean per
 * step (docs/vault.md, Figures, "No HSM call per login start").
 */
import { performance } from 'node:perf_hooks';
import type { HsmSessions, RollbackRegister } from '../src/hsm/hsm.js';
import { Pkcs11Hsm } from '../src/hsm/index.js';
import { AuditLog } from '../src/vault/audit/log.js';
import { Limits } from '../src/vault/server/limits.js';
import { Logins } from '../src/vault/server/login.js';
import { PendingLogins } from '../src/vault/server/pending.js';
import { GroupCommit } from '../src/vault/state/commit.js';
import { VersionGuard } from '../src/vault/state/guard.js';
import { SealedState } from '../src/vault/state/sealed.js';
import { SqliteStore } from '../src/vault/state/sqlite.js';
import { K, RECOVERY, lab } from '../test/vault/helpers.js';
import { loginStarts, pct } from './vault-load.js';

const seconds = Number(process.argv[2] ?? 8);
const clients = Number(process.argv[3] ?? 64);
const unlimited = { burst: 1e9, perMinute: 1e9 };

let measuring = false;
const steps = new Map<string, number[]>();
const note = (step: string, x: number) => {
  if (!measuring) return;
  const xs = steps.get(step);
  if (xs === undefined) steps.set(step, [x]);
  else xs.push(x);
};

type Method = (this: unknown, ...a: unknown[]) => Promise<unknown>;
/** Replaces `proto[name]` by the same method, timed as `step`. */
function timeMethod(proto: object, name: string, step: string): void {
  const methods = proto as Record<string, Method>;
  const real = methods[name]!;
  methods[name] = async function (this: unknown, ...a: unknown[]) {
    const t = performance.now();
    try {
      return await real.apply(this, a);
    } finally {
      note(step, performance.now() - t);
    }
  };
}

for (const [proto, name, step] of [
  [Logins.prototype, 'start', 'a start, server side'], [Limits.prototype, 'account', 'rate limit'],
  [PendingLogins.prototype, 'put', 'pending login stored'], [SealedState.prototype, 'read', 'a read (window + row)'],
  [SealedState.prototype, 'update', 'a write (seal + batch)'], [SealedState.prototype, 'sealValue', 'a seal'],
  [VersionGuard.prototype, 'fresh', 'register read window'], [GroupCommit.prototype, 'commit', 'batch serial section'],
  [AuditLog.prototype, 'carry', 'audit carry'], [SqliteStore.prototype, 'putAll', 'store transaction'],
] as const) timeMethod(proto, name, step);
const commit = (GroupCommit.prototype as unknown as Record<string, Method>).commit!;
(GroupCommit.prototype as unknown as Record<string, Method>).commit = function (this: unknown, batch: unknown) {
  note('batch members', (batch as unknown[]).length);
  return commit.call(this, batch);
};

const calls = { wrap: 0, unwrap: 0 };
const sessions = Pkcs11Hsm.prototype.sessions;
Pkcs11Hsm.prototype.sessions = async function (this: Pkcs11Hsm, ...a: Parameters<Pkcs11Hsm['sessions']>) {
  const pool = await sessions.apply(this, a);
  const timed = <A extends unknown[], R>(step: string, f: (...x: A) => Promise<R>) => async (...x: A) => {
    const t = performance.now();
    try {
      return await f(...x);
    } finally {
      note(step, performance.now() - t);
    }
  };
  const register: RollbackRegister = { read: timed('register read', () => pool.register.read()), advance: timed('register write', (f, n) => pool.register.advance(f, n)) };
  const over: Partial<HsmSessions> = {
    register,
    wrap: (ring, secret) => ((measuring && calls.wrap++), pool.wrap(ring, secret)),
    unwrap: (blob) => ((measuring && calls.unwrap++), pool.unwrap(blob)),
  };
  return new Proxy(pool, {
    get: (t, q) => (q in over ? (over as Record<string | symbol, unknown>)[q] : typeof Reflect.get(t, q) === 'function' ? (Reflect.get(t, q) as () => unknown).bind(t) : Reflect.get(t, q)),
  });
};

const l = await lab();
try {
  const v = await l.start({ policy: { guess_limit: 100 }, accountRate: unlimited, addressRate: unlimited, registerRate: unlimited });
  const c = await v.client();
  const accounts = Array.from({ length: clients }, (_, i) => `bench${i}`);
  for (const a of accounts) await c.register(a, 'pw', K, RECOVERY, 'd');
  await Promise.all(accounts.map(() => c.status()));
  measuring = true;
  const f = await loginStarts(c, accounts, seconds);
  measuring = false;
  console.log(`login/start at ${clients} clients: ${f.perSecond.toFixed(0)}/s, p50 ${f.p50.toFixed(1)} ms, p99 ${f.p99.toFixed(1)} ms (${f.requests} requests); HSM wraps ${calls.wrap}, unwraps ${calls.unwrap}`);
  for (const [step, xs] of steps) {
    const mean = xs.reduce((x, y) => x + y, 0) / xs.length;
    console.log(`${step.padEnd(26)} n ${String(xs.length).padStart(6)}  p50 ${pct(xs, 50).toFixed(2).padStart(7)}  p90 ${pct(xs, 90).toFixed(2).padStart(7)}  mean ${mean.toFixed(2).padStart(7)}`);
  }
  c.channel.close();
} finally {
  await l.cleanup();
}
