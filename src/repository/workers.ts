/**
 * A small pool of blob worker threads (one per core). Requests go to the
 * least-busy worker; results come back as promises. Input buffers that own
 * their memory are transferred, not copied: the caller must not touch them
 * afterwards.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { EbakError, type ErrorCode } from '../errors.js';
import type { BlobRef } from './blob.js';
import { owned, ownsBuffer } from '../util/buffers.js';
import type { WorkerReply, WorkerRequest } from './blobworker.js';

interface Slot {
  worker: Worker;
  busy: number;
}

interface Result {
  data: Buffer;
  compressed: boolean;
}

type Pending = { resolve: (v: Result) => void; reject: (e: Error) => void };

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

  /** Compresses (when it helps) and seals a blob; `data` is transferred. */
  seal(packKey: Buffer, type: number, id: Buffer, data: Buffer, level: number): Promise<Result> {
    return this.send({ op: 'seal', packKey, type, id, data, level }, data);
  }

  /** Opens a blob; `sealed` is transferred. */
  async open(packKey: Buffer, blobKey: Buffer, ref: BlobRef, sealed: Buffer, what: string): Promise<Buffer> {
    // An id decoded from hex is a view into Node's buffer pool (util/buffers.ts `owned`).
    return (await this.send({ op: 'open', packKey, blobKey, ref: { ...ref, id: owned(ref.id) }, sealed, what }, sealed)).data;
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots = [];
  }

  private send(req: Request, payload: Uint8Array): Promise<Result> {
    const slot = this.slots.reduce((a, b) => (b.busy < a.busy ? b : a));
    const seq = ++this.seq;
    slot.busy++;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, {
        resolve: (v) => { slot.busy--; resolve(v); },
        reject: (e) => { slot.busy--; reject(e); },
      });
      slot.worker.postMessage({ ...req, seq }, ownsBuffer(payload) ? [payload.buffer as ArrayBuffer] : []);
    });
  }

  private settle(r: WorkerReply): void {
    const p = this.pending.get(r.seq);
    if (!p) return;
    this.pending.delete(r.seq);
    if (r.ok) p.resolve({ data: Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength), compressed: r.compressed });
    else p.reject(new EbakError(r.code as ErrorCode, r.message));
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(new EbakError('IO', `worker thread failed: ${e.message}`, { cause: e }));
    this.pending.clear();
  }
}
