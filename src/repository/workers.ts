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
import { toWire, type RunBlob } from './runwire.js';

interface Slot {
  worker: Worker;
  busy: number;
}

interface Result {
  data: Buffer;
  compressed: boolean;
}

type Pending = { resolve: (v: WorkerReply & { ok: true }) => void; reject: (e: Error) => void };

type Request = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, 'seq'> : never) : never;

export class WorkerPool {
  private slots: Slot[] = [];
  private pending = new Map<number, Pending>();
  private seq = 0;
  private closed = false;

  constructor(private readonly size = availableParallelism()) {}

  /**
   * The workers, started at the first request: a command that seals and opens nothing
   * (an unchanged re-backup) never pays for them (an isolate each and its modules,
   * ~150 ms of CPU for two).
   */
  private started(): Slot[] {
    if (this.closed) throw new EbakError('IO', 'the blob worker pool is closed');
    for (let i = this.slots.length; i < this.size; i++) {
      const worker = new Worker(new URL('./blobworker.js', import.meta.url));
      worker.on('message', (r: WorkerReply) => this.settle(r));
      worker.on('error', (e) => this.failAll(e));
      this.slots.push({ worker, busy: 0 });
    }
    return this.slots;
  }

  /** Compresses (when it helps) and seals a blob; `data` is transferred. */
  async seal(packKey: Buffer, type: number, id: Buffer, data: Buffer, level: number): Promise<Result> {
    return dataOf(await this.send({ op: 'seal', packKey, type, id, data, level }, data));
  }

  /** Opens a blob; `sealed` is transferred. */
  async open(packKey: Buffer, blobKey: Buffer, ref: BlobRef, sealed: Buffer, what: string): Promise<Buffer> {
    // An id decoded from hex is a view into Node's buffer pool (util/buffers.ts `owned`).
    return dataOf(await this.send({ op: 'open', packKey, blobKey, ref: { ...ref, id: owned(ref.id) }, sealed, what }, sealed)).data;
  }

  /**
   * Opens a run of blobs of pack `pack` lying in `sealed` (transferred) and hands them, with
   * `task`, to the `consume` export of the module at `sink`, in the worker;
   * resolves with what it returns (BlobReader.readRun).
   */
  async openRun(packKey: Buffer, blobKey: Buffer, pack: string, blobs: readonly RunBlob[], sealed: Buffer, sink: URL, task: unknown): Promise<unknown> {
    const reply = await this.send({ op: 'run', packKey, blobKey, pack, blobs: toWire(blobs), sealed, sink: sink.href, task }, sealed);
    return 'result' in reply ? reply.result : undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots = [];
  }

  private send(req: Request, payload: Uint8Array): Promise<WorkerReply & { ok: true }> {
    const slot = this.started().reduce((a, b) => (b.busy < a.busy ? b : a));
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
    if (r.ok) p.resolve(r);
    else p.reject(new EbakError(r.code as ErrorCode, r.message));
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(new EbakError('IO', `worker thread failed: ${e.message}`, { cause: e }));
    this.pending.clear();
  }
}

function dataOf(r: WorkerReply & { ok: true }): Result {
  if (!('data' in r)) throw new EbakError('IO', 'worker thread answered a blob request without data');
  return { data: Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength), compressed: r.compressed };
}
