/**
 * A small pool of blob worker threads (one per core). Requests go to the
 * least-busy worker; results come back as promises. Buffers are transferred,
 * not copied, where the caller no longer needs them.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { EbakError, type ErrorCode } from '../errors.js';
import type { BlobRef } from './blob.js';
import type { WorkerReply, WorkerRequest } from './blobworker.js';

interface Slot {
  worker: Worker;
  busy: number;
}

type Pending = { resolve: (v: Buffer | undefined) => void; reject: (e: Error) => void };

type Request = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, 'seq'> : never) : never;

export class WorkerPool {
  private slots: Slot[] = [];
  private pending = new Map<number, Pending>();
  private seq = 0;

  constructor(size = availableParallelism()) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(new URL('./blobworker.js', import.meta.url));
      worker.on('message', (r: WorkerReply) => this.settle(r));
      worker.on('error', (e) => this.failAll(e));
      this.slots.push({ worker, busy: 0 });
    }
  }

  compress(data: Buffer, level: number): Promise<Buffer | undefined> {
    return this.send({ op: 'compress', data, level }, []);
  }

  /** Opens a blob; `sealed` is transferred to the worker (do not use it afterwards). */
  open(packKey: Buffer, blobKey: Buffer, ref: BlobRef, sealed: Buffer, what: string): Promise<Buffer> {
    const transfer = sealed.byteOffset === 0 && sealed.byteLength === sealed.buffer.byteLength ? [sealed.buffer as ArrayBuffer] : [];
    return this.send({ op: 'open', packKey, blobKey, ref, sealed, what }, transfer) as Promise<Buffer>;
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots = [];
  }

  private send(req: Request, transfer: ArrayBuffer[]): Promise<Buffer | undefined> {
    const slot = this.slots.reduce((a, b) => (b.busy < a.busy ? b : a));
    const seq = ++this.seq;
    slot.busy++;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, {
        resolve: (v) => { slot.busy--; resolve(v); },
        reject: (e) => { slot.busy--; reject(e); },
      });
      slot.worker.postMessage({ ...req, seq }, transfer);
    });
  }

  private settle(r: WorkerReply): void {
    const p = this.pending.get(r.seq);
    if (!p) return;
    this.pending.delete(r.seq);
    if (r.ok) p.resolve(r.data ? Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength) : undefined);
    else p.reject(new EbakError(r.code as ErrorCode, r.message));
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(new EbakError('IO', `worker thread failed: ${e.message}`, { cause: e }));
    this.pending.clear();
  }
}
