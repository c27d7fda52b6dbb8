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
 * The starts themselves go out as prebuilt HTTP/1.1 request bytes on plain
 * kept-alive TLS connections of this module (RawConnection), opened before
 * the window, one per account: node's HTTP client cost the generator
 * ~0.2 ms of CPU per start, taken from the cores the vault runs on (docs/
 * vault.md, "The load generator's CPU"). The unlocks go through the attested
 * client.
 *
 * With the serve process's pid, the figures include its CPU per start
 * (/proc/<pid>/stat, and its main thread's /proc/<pid>/task/<pid>/stat) over
 * the window, unlocks included.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect, type TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
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
  /** NaN from wrk, which prints no 99.9th percentile. */
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
  const host = c.channel.url.host;
  const requests = new Map(accounts.map((a) => [a, Array.from({ length: KE1_POOL }, () => loginStartBytes(host, a, opaque.client.startLogin({ password: 'x' }).startLoginRequest))]));
  const idle = await Promise.all(accounts.map(() => RawConnection.open(c.channel.url)));
  let sent = 0;
  // At most accounts.length starts are in flight (both loops), so a connection is always idle when one is sent; taken
  // in turn (oldest idle first), so none idles past the vault's keep-alive timeout at a low rate.
  const start = async (a: string) => {
    const pool = requests.get(a)!;
    const conn = idle.shift()!;
    await conn.send(pool[sent++ % pool.length]!);
    idle.push(conn);
  };
  const cpu0 = o.pid ? cpuSeconds(o.pid) : undefined;
  const busy0 = machineBusySeconds();
  const gen0 = process.cpuUsage();
  const { lat, elapsed } = await (o.rate ? openLoop(c, accounts, seconds, o.rate, start) : closedLoop(c, accounts, seconds, start)).finally(() => {
    for (const conn of idle) conn.close();
  });
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

/** One login/start as the bytes an HTTP/1.1 client sends (protocol v1: a JSON body; docs/vault.md). */
function loginStartBytes(host: string, account: string, ke1: string): Buffer {
  const body = JSON.stringify({ account, request: ke1 });
  return Buffer.from(`POST /v1/login/start HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, 'utf8');
}

/**
 * A kept-alive TLS connection sending one prebuilt request at a time and
 * reading its answer by content-length (the vault always sends one). Not the
 * attested channel: the vault's key is not checked here (the bench's own
 * server; the attested client opens and checks its connections in the rows
 * before), since only the vault's cost per start is measured.
 */
class RawConnection {
  private buffered: Buffer = Buffer.alloc(0);
  private waiting?: { resolve(): void; reject(e: Error): void };

  private constructor(private readonly socket: TLSSocket) {
    socket.on('data', (d: Buffer) => this.read(d));
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new Error('the vault closed a load connection')));
  }

  static open(url: URL): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: url.hostname, port: Number(url.port), minVersion: 'TLSv1.3', rejectUnauthorized: false }, () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  /** Sends `request` and resolves when its answer is in: a 200, or a failure naming the vault's answer. */
  send(request: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(request);
    });
  }

  private read(d: Buffer): void {
    this.buffered = this.buffered.length === 0 ? d : Buffer.concat([this.buffered, d]);
    const end = this.buffered.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.buffered.toString('latin1', 0, end);
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? NaN);
    if (Number.isNaN(length)) return this.fail(new Error(`an answer without content-length: ${head}`));
    if (this.buffered.length < end + 4 + length) return;
    const body = this.buffered.toString('utf8', end + 4, end + 4 + length);
    this.buffered = this.buffered.subarray(end + 4 + length);
    const w = this.waiting;
    this.waiting = undefined;
    if (head.startsWith('HTTP/1.1 200 ')) w?.resolve();
    else w?.reject(new Error(`login/start answered ${head.split('\r\n')[0]}: ${body}`));
  }

  private fail(e: Error): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(e);
  }

  close(): void {
    this.socket.removeAllListeners('close');
    this.socket.end();
  }
}

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

/**
 * The same load from a standard tool: Debian's `wrk` (closed loop, `clients` connections, one thread) with
 * bench/wrk-login.lua rotating the prebuilt bodies (`KE1_POOL` KE1s per account, the accounts in turn). At most
 * `seconds` of it, and every account's counter must start at 0: a run may charge each account fewer guesses than the
 * limit (100). Figures as loginStarts', the generator's CPU being wrk's (from /usr/bin/time).
 */
export async function wrkStarts(c: VaultClient, accounts: readonly string[], seconds: number, pid: number, dir: string): Promise<LoadFigures> {
  await opaque.ready;
  const bodies = Array.from({ length: KE1_POOL }, () => accounts.map((a) => JSON.stringify({ account: a, request: opaque.client.startLogin({ password: 'x' }).startLoginRequest })));
  const bodyFile = join(dir, 'wrk-bodies.txt');
  writeFileSync(bodyFile, `${bodies.flat().join('\n')}\n`);
  const timeFile = join(dir, 'wrk-time.txt');
  const script = fileURLToPath(new URL('../../bench/wrk-login.lua', import.meta.url));
  const cpu0 = cpuSeconds(pid);
  const busy0 = machineBusySeconds();
  const t0 = performance.now();
  const out = execFileSync('/usr/bin/time', ['-f', '%U %S', '-o', timeFile, 'wrk', '-t1', `-c${accounts.length}`, `-d${seconds}s`, '--latency', '-s', script, `${c.channel.url.origin}/v1/login/start`, '--', bodyFile], { encoding: 'utf8' });
  const elapsed = (performance.now() - t0) / 1000;
  const cpu1 = cpuSeconds(pid);
  const busy = machineBusySeconds() - busy0;
  if (/Non-2xx/.test(out) || /Socket errors/.test(out)) throw new Error(`wrk saw refusals or socket errors:\n${out}`);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  const ms = (p: string) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s)$`, 'm').exec(out);
    if (!m) throw new Error(`no ${p}% latency in wrk's output:\n${out}`);
    return Number(m[1]) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[m[2]!]!;
  };
  const [user, system] = readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  const wrkSeconds = user! + system!;
  return {
    perSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]), p50: ms('50'), p99: ms('99'), p999: NaN, requests,
    cpu: { process: ((cpu1.process - cpu0.process) * 1000) / requests, main: ((cpu1.main - cpu0.main) * 1000) / requests,
      generator: (wrkSeconds * 1000) / requests, otherCores: (busy - wrkSeconds - (cpu1.process - cpu0.process)) / elapsed },
  };
}
