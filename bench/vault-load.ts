/**
 * The vault benches' shared load (bench/vault.ts, bench/vault-replicas.ts):
 * login/start for `accounts.length` accounts on kept-alive pinned
 * connections (each account's guess counter reset by a recovery unlock every
 * 90 of its starts, under a guess limit of 100), and percentiles.
 *
 * Closed loop (no rate): one loop per account, each sending its next start
 * when its last one is answered; a start's latency is its round trip.
 * Open loop (`rate`): starts are due on a fixed schedule (`rate` per second,
 * the accounts in turn) whatever the answers do, sent on at most
 * `accounts.length` connections at once (a due start waits for a free one);
 * a start's latency runs from the time it was DUE, so time queued behind a
 * slow vault is counted (no coordinated omission). The unlocks go through
 * the same queue, untimed and not counted in the rate.
 *
 * The client's OPAQUE work (`client.startLogin`, ~0.35 ms each) is done
 * before the window: a pool of KE1 messages per account, used in turn. The
 * vault's work per start is the same as for a fresh KE1 (it keeps no
 * memory of KE1s: every start is a new KE2 and a counted guess), and the
 * load generator's CPU, on the same 2 cores, is no longer in the latency.
 *
 * With the serve process's pid, the figures include its CPU per start
 * (/proc/<pid>/stat, and its main thread's /proc/<pid>/task/<pid>/stat) over
 * the window, unlocks included.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import * as opaque from '@serenity-kit/opaque';
import type { VaultClient } from '../src/vault/client/client.js';
import { RECOVERY } from '../test/vault/helpers.js';

export const pct = (xs: number[], p: number) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

export interface LoadOptions {
  /** Open loop: starts due per second. Closed loop without. */
  rate?: number;
  /** The serve process, for its CPU per start. */
  pid?: number;
}

export interface LoadFigures {
  /** Starts answered per second (open loop: from the first due time to the last answer). */
  perSecond: number;
  p50: number;
  p99: number;
  p999: number;
  requests: number;
  /**
   * The serve process's CPU per start (ms), all threads and its main thread alone; the load generator's (this process);
   * and the cores the machine's other processes used meanwhile (busy time in /proc/stat less those two), which the
   * figures depend on when the cores are shared.
   */
  cpu?: { process: number; main: number; generator: number; otherCores: number };
}

const KE1_POOL = 16;
const UNLOCK_EVERY = 90;

export async function loginStarts(c: VaultClient, accounts: readonly string[], seconds: number, o: LoadOptions = {}): Promise<LoadFigures> {
  await opaque.ready;
  const ke1 = new Map(accounts.map((a) => [a, Array.from({ length: KE1_POOL }, () => opaque.client.startLogin({ password: 'x' }).startLoginRequest)]));
  let sent = 0;
  const start = async (a: string) => {
    const pool = ke1.get(a)!;
    await c.channel.call('POST', '/v1/login/start', { account: a, request: pool[sent++ % pool.length] });
  };
  const cpu0 = o.pid ? cpuSeconds(o.pid) : undefined;
  const busy0 = machineBusySeconds();
  const gen0 = process.cpuUsage();
  const { lat, elapsed } = o.rate ? await openLoop(c, accounts, seconds, o.rate, start) : await closedLoop(c, accounts, seconds, start);
  const gen = process.cpuUsage(gen0);
  const cpu1 = o.pid ? cpuSeconds(o.pid) : undefined;
  const busy = machineBusySeconds() - busy0;
  const genSeconds = (gen.user + gen.system) / 1e6;
  return {
    perSecond: lat.length / elapsed, p50: pct(lat, 50), p99: pct(lat, 99), p999: pct(lat, 99.9), requests: lat.length,
    ...(cpu0 && cpu1 ? { cpu: { process: ((cpu1.process - cpu0.process) * 1000) / lat.length, main: ((cpu1.main - cpu0.main) * 1000) / lat.length,
      generator: (genSeconds * 1000) / lat.length, otherCores: (busy - genSeconds - (cpu1.process - cpu0.process)) / elapsed } } : {}),
  };
}

type Start = (account: string) => Promise<void>;

async function closedLoop(c: VaultClient, accounts: readonly string[], seconds: number, start: Start): Promise<{ lat: number[]; elapsed: number }> {
  const lat: number[] = [];
  const end = performance.now() + seconds * 1000;
  await Promise.all(accounts.map(async (a) => {
    let n = 0;
    while (performance.now() < end) {
      if (++n % UNLOCK_EVERY === 0) await c.unlock(a, RECOVERY);
      const t = performance.now();
      await start(a);
      lat.push(performance.now() - t);
    }
  }));
  return { lat, elapsed: seconds };
}

/** One request of the open loop: a start due at `due` (timed), or an unlock (untimed). */
interface Job {
  account: string;
  due?: number;
}

async function openLoop(c: VaultClient, accounts: readonly string[], seconds: number, rate: number, start: Start): Promise<{ lat: number[]; elapsed: number }> {
  const lat: number[] = [];
  const queue: Job[] = [];
  const counts = new Map<string, number>();
  let free = accounts.length;
  let failure: unknown;
  const settled: Promise<void>[] = [];
  const run = (job: Job): void => {
    free--;
    const p = (job.due === undefined ? c.unlock(job.account, RECOVERY) : start(job.account)).then(() => {
      if (job.due !== undefined) lat.push(performance.now() - job.due);
    }, (e: unknown) => {
      failure ??= e;
    }).finally(() => {
      free++;
      const next = queue.shift();
      if (next) run(next);
    });
    settled.push(p);
  };
  const enqueue = (job: Job) => (free > 0 && queue.length === 0 ? run(job) : queue.push(job));
  const total = Math.floor(seconds * rate);
  const t0 = performance.now();
  for (let i = 0; i < total && failure === undefined;) {
    // Every start whose time has come is sent (or queued) now: a late timer does not thin the schedule.
    for (const now = performance.now(); i < total && t0 + (i * 1000) / rate <= now; i++) {
      const account = accounts[i % accounts.length]!;
      const n = (counts.get(account) ?? 0) + 1;
      counts.set(account, n);
      if (n % UNLOCK_EVERY === 0) enqueue({ account });
      enqueue({ account, due: t0 + (i * 1000) / rate });
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  // Jobs queued behind the last ones run from their `finally`: wait until every run, started or not, has settled.
  while (settled.length > 0) await Promise.all(settled.splice(0));
  if (failure !== undefined) throw failure;
  return { lat, elapsed: (performance.now() - t0) / 1000 };
}

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** User + system CPU seconds of a process and of its main thread (whose task id is the pid). */
function cpuSeconds(pid: number): { process: number; main: number } {
  const of = (path: string) => {
    const fields = readFileSync(path, 'utf8').split(')').pop()!.trim().split(' '); // after "pid (comm)": field 3 is [0]
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime: fields 14 and 15
  };
  return { process: of(`/proc/${pid}/stat`), main: of(`/proc/${pid}/task/${pid}/stat`) };
}

/** CPU seconds all cores spent busy (the "cpu" line of /proc/stat less idle and iowait). */
function machineBusySeconds(): number {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
  return (ticks.slice(0, 8).reduce((a, b) => a + b, 0) - ticks[3]! - ticks[4]!) / CLK_TCK;
}
