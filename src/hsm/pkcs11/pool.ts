/**
 * PKCS#11 off the event loop: a pool of worker threads (worker.ts), each
 * with its own logged-in session on the same token, behind the async
 * interfaces the vault's sealed state uses (key wrap, the rollback register,
 * the per-record counters it migrates from). pkcs11js calls are synchronous:
 * on the event loop a slow token (SoftHSM's file writes, CloudHSM's network
 * round trips) would stall every TLS handshake and every other account; in a
 * worker it stalls only that call, and the group commit (state/commit.ts)
 * gathers the writes that arrive meanwhile into the next batch.
 */
import { Worker } from 'node:worker_threads';
import { EbakError, type ErrorCode } from '../../errors.js';
import type { Advanced, GuardValue, HsmSessions, LegacyCounters, RollbackRegister, SessionOptions } from '../hsm.js';
import { WORKER_MARK, type Op, type Reply, type WorkerData } from './messages.js';
import type { Pkcs11Config } from './module.js';
import { decodeGuardValue, encodeGuardValue } from './register.js';

interface Job {
  readonly op: Op;
  readonly args: unknown[];
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

interface Thread {
  readonly worker: Worker;
  job?: Job;
  /** Exited: its session is gone, nothing more is sent to it. */
  gone?: boolean;
}

export class SessionPool implements HsmSessions {
  private readonly queue: Job[] = [];
  private n = 0;
  readonly register: RollbackRegister;
  readonly counters: LegacyCounters;

  private constructor(private readonly threads: Thread[]) {
    for (const t of threads) {
      t.worker.on('message', (r: Reply) => this.settle(t, r));
      t.worker.on('error', (e) => {
        t.gone = true;
        this.settle(t, { n: 0, ok: false, error: { code: 'HSM', message: `HSM session worker failed: ${e.message}`, name: e.name } });
      });
    }
    this.register = {
      read: async () => {
        const b = await this.call<Uint8Array | undefined>('register.read', []);
        return b === undefined ? undefined : decodeGuardValue(Buffer.from(b));
      },
      advance: (from: readonly (GuardValue | undefined)[], next: GuardValue) =>
        this.call<Advanced>('register.advance', [from.map((g) => (g === undefined ? null : encodeGuardValue(g))), encodeGuardValue(next)]),
    };
    this.counters = {
      all: async () => new Map(await this.call<[string, number][]>('counters.all', [])),
      clear: () => this.call<void>('counters.clear', []),
      read: () => Promise.reject(new EbakError('USAGE', 'per-record counters are only migrated from')),
      advance: () => Promise.reject(new EbakError('USAGE', 'per-record counters are only migrated from')),
    };
  }

  /** Starts `size` workers, each logged in to the token; fails like Pkcs11Hsm.open when one cannot. */
  static async open(config: Pkcs11Config, options: SessionOptions = {}): Promise<SessionPool> {
    const data: WorkerData = { mark: WORKER_MARK, config, delayMs: options.delayMs ?? 0 };
    const started = Array.from({ length: options.size ?? 2 }, () => start(data));
    const results = await Promise.allSettled(started);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) {
      for (const r of results) if (r.status === 'fulfilled') await r.value.terminate();
      throw (failed as PromiseRejectedResult).reason;
    }
    return new SessionPool(results.map((r) => ({ worker: (r as PromiseFulfilledResult<Worker>).value })));
  }

  wrap(ring: string, secret: Uint8Array): Promise<Uint8Array> {
    return this.call<Uint8Array>('wrap', [ring, secret]);
  }

  async unwrap(blob: Uint8Array): Promise<Buffer> {
    const b = await this.call<Uint8Array>('unwrap', [blob]);
    return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  }

  private call<T>(op: Op, args: unknown[]): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, args, resolve: resolve as (v: unknown) => void, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const t of this.threads) {
      if (t.job !== undefined || t.gone) continue;
      const job = this.next();
      if (job === undefined) return;
      t.job = job;
      t.worker.postMessage({ n: ++this.n, op: job.op, args: job.args });
    }
  }

  /**
   * The first queued job a free thread may take: register reads and advances never overlap in this process, since
   * SoftHSM's file store shows one session a copy another is still creating (its value half-written, or the copy
   * missing from a search: the reader saw a "malformed" register, the writer's advance a register moved on;
   * test/hsm/register.test.ts). Other processes' writes stay the register's own retries and fork check.
   */
  private next(): Job | undefined {
    const registerBusy = this.threads.some((t) => t.job !== undefined && isRegisterOp(t.job.op));
    const i = this.queue.findIndex((j) => !registerBusy || !isRegisterOp(j.op));
    return i < 0 ? undefined : this.queue.splice(i, 1)[0];
  }

  private settle(t: Thread, r: Reply): void {
    const job = t.job;
    t.job = undefined;
    if (job !== undefined) {
      if (r.ok) job.resolve(r.value ?? undefined);
      else job.reject(new EbakError((r.error.code ?? 'HSM') as ErrorCode, r.error.message));
    }
    this.dispatch();
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.filter((t) => !t.gone).map((t) => new Promise<void>((resolve) => {
      t.worker.once('exit', () => resolve());
      t.worker.postMessage('close');
    })));
  }
}

const isRegisterOp = (op: Op) => op.startsWith('register.');

function start(data: WorkerData): Promise<Worker> {
  const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: data });
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (m: 'ready' | { failed: { code?: string; message: string } }) => {
      if (m === 'ready') resolve(worker);
      else {
        void worker.terminate();
        reject(new EbakError((m.failed.code ?? 'HSM') as ErrorCode, m.failed.message));
      }
    });
  });
}
