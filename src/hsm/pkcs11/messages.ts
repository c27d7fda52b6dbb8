/**
 * What the session pool (pool.ts) and its worker threads (worker.ts) say to
 * each other: the worker's start data and the request and reply messages.
 * Apart from both so the pool need not import the worker, which runs the
 * provider (pkcs11.ts) that opens the pool.
 */
import type { Pkcs11Config } from './module.js';

export const WORKER_MARK = 'ebak-pkcs11-worker';

export interface WorkerData {
  readonly mark: typeof WORKER_MARK;
  readonly config: Pkcs11Config;
  /** A slow HSM, for tests: every call first blocks this thread this long (as a slow token would). */
  readonly delayMs: number;
}

export type Op = 'wrap' | 'unwrap' | 'register.read' | 'register.advance' | 'counters.all' | 'counters.clear';
export interface Request { readonly n: number; readonly op: Op; readonly args: unknown[] }
export type Reply = { readonly n: number; readonly ok: true; readonly value: unknown } | { readonly n: number; readonly ok: false; readonly error: { code?: string; message: string; name: string } };
