/**
 * A small pool of blob worker threads (one per core). Requests go to the
 * least-busy worker; results come back as promises. Input buffers that own
 * their memory are transferred, not copied: the caller must not touch them
 * afterwards. Small blobs to seal are gathered into batches (one message
 * for up to 32 of them, sent when full or when the event loop next turns).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { EbakError, type ErrorCode } from '../errors.js';
import type { BlobRef } from './blob.js';
import { owned, ownsBuffer } from '../util/buffers.js';
import { BufferPool } from '../util/bufferpool.js';
import { adoptBlobBuffer, isBlobBuffer } from './blobbuffers.js';
import { BATCH_KEY_BYTES, type SealedBatch, type WorkerReply, type WorkerRequest } from './blobworker.js';
import { toWire, type RunBlob } from './runwire.js';

interface Slot {
  worker: Worker;
  busy: number;
}

interface Result {
  data: Buffer;
  compressed: boolean;
  /** `data` lies in the chunk buffer it was read into (blobbuffers.ts): give it back once written. */
  inPlace?: boolean;
}

type Pending = { resolve: (v: WorkerReply & { ok: true }) => void; reject: (e: Error) => void };

type Request = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, 'seq'> : never) : never;

/** A small blob waiting for the next batch message. */
interface Queued {
  packKey: Buffer;
  type: number;
  id: Buffer;
  data: Buffer;
  resolve: (r: Result) => void;
  reject: (e: Error) => void;
}

/**
 * Blobs up to this size are sealed in batches of up to BATCH_BLOBS, one
 * message each way: a message per small file's blob (an object, copies of
 * its key and id, a transfer, a reply and its views) was ~2 KB of garbage.
 * Larger ones go alone, transferred without a copy.
 */
const BATCH_BLOB_BYTES = 64 * 1024;
const BATCH_BLOBS = 32;
/**
 * A batch's request buffer comes back with its reply and is reused
 * (util/bufferpool.ts): sizes from 64 KiB, a few of each kept.
 */
const BATCH_BUFFER_MIN = 64 * 1024;
const BATCH_BUFFERS_KEPT = 16;
/** And at most this many bytes of them in all: 16 of each size held 10-13 MiB on the real-file corpus (bmem4). */
const BATCH_BYTES_KEPT = 4 * 1024 * 1024;

export class WorkerPool {
  private slots: Slot[] = [];
  private pending = new Map<number, Pending>();
  private seq = 0;
  private closed = false;

  constructor(private readonly size = availableParallelism()) {}

  /**
   * The least-busy worker, one more started when every started one is busy
   * (up to `size`): a command that seals and opens nothing (an unchanged
   * re-backup) never pays for one (an isolate and its modules, ~60-75 ms of
   * CPU each), and one that seals a few tree blobs pays for one; a restore or
   * a backup of new data has every worker within its first requests.
   */
  private slot(): Slot {
    if (this.closed) throw new EbakError('IO', 'the blob worker pool is closed');
    const idlest = this.slots.reduce<Slot | undefined>((a, b) => (a === undefined || b.busy < a.busy ? b : a), undefined);
    if (idlest && (idlest.busy === 0 || this.slots.length >= this.size)) return idlest;
    const worker = new Worker(new URL('./blobworker.js', import.meta.url));
    worker.on('message', (r: WorkerReply) => this.settle(r));
    worker.on('error', (e) => this.failAll(e));
    const started = { worker, busy: 0 };
    this.slots.push(started);
    return started;
  }

  /** Small blobs queued for the next batch (sealSmall), and whether its sending is scheduled. */
  private queued: Queued[] = [];
  private queuedLevel = 0;
  private flushing = false;
  /** Request buffers handed back by the workers. */
  private readonly batchBuffers = new BufferPool(BATCH_BUFFER_MIN, BATCH_BUFFERS_KEPT, BATCH_BYTES_KEPT);

  /** Compresses (when it helps) and seals a blob; `data` is transferred (a small one is copied into a batch, a chunk buffer sealed where it lies). */
  async seal(packKey: Buffer, type: number, id: Buffer, data: Buffer, level: number): Promise<Result> {
    if (isBlobBuffer(data)) {
      const sealed = dataOf(await this.send({ op: 'seal', packKey, type, id, data, level, inPlace: true }, data, [data.buffer as ArrayBuffer]));
      adoptBlobBuffer(sealed.data);
      return sealed;
    }
    if (data.length <= BATCH_BLOB_BYTES && packKey.length === BATCH_KEY_BYTES && id.length === BATCH_KEY_BYTES) return this.sealSmall(packKey, type, id, data, level);
    return dataOf(await this.send({ op: 'seal', packKey, type, id, data, level }, data));
  }

  /** Queues a small blob for a batch: sent once BATCH_BLOBS are queued, or when the event loop next turns. */
  private sealSmall(packKey: Buffer, type: number, id: Buffer, data: Buffer, level: number): Promise<Result> {
    if (this.queued.length > 0 && level !== this.queuedLevel) this.sendSeals();
    return new Promise((resolve, reject) => {
      this.queued.push({ packKey, type, id, data, resolve, reject });
      this.queuedLevel = level;
      if (this.queued.length >= BATCH_BLOBS) this.sendSeals();
      else if (!this.flushing) {
        this.flushing = true;
        setImmediate(this.sendSeals);
      }
    });
  }

  /** Sends the queued small blobs as one SealBatch and answers each from its reply. */
  private readonly sendSeals = (): void => {
    this.flushing = false;
    const batch = this.queued.splice(0);
    if (batch.length === 0) return;
    const { blobs, bytes, keys } = encodeSeals(batch, (n) => this.batchBuffers.take(n));
    this.send({ op: 'seals', keys, blobs, bytes, level: this.queuedLevel }, bytes).then(
      (reply) => {
        answerSeals(batch, reply);
        if ('ends' in reply) this.batchBuffers.give(reply.spent);
      },
      (e: Error) => batch.forEach((q) => q.reject(e)),
    );
  };

  /** Opens a blob; `sealed` is transferred. */
  async open(packKey: Buffer, blobKey: Buffer, ref: BlobRef, sealed: Buffer, what: string): Promise<Buffer> {
    // An id decoded from hex is a view into Node's buffer pool (util/buffers.ts `owned`).
    return dataOf(await this.send({ op: 'open', packKey, blobKey, ref: { ...ref, id: owned(ref.id) }, sealed, what }, sealed)).data;
  }

  /**
   * Opens a run of blobs of pack `pack` lying in `sealed` (transferred) and hands them, with
   * `task`, to the `consume` export of the module at `sink`, in the worker;
   * resolves with what it returns (BlobReader.readRun) and `sealed`'s memory handed back
   * (`spent`, when it was transferred: its bytes are then the run's, opened in place).
   */
  async openRun(packKey: Buffer, blobKey: Buffer, pack: string, blobs: readonly RunBlob[], sealed: Buffer, sink: URL, task: unknown): Promise<{ result: unknown; spent?: Uint8Array }> {
    const reply = await this.send({ op: 'run', packKey, blobKey, pack, blobs: toWire(blobs), sealed, sink: sink.href, task }, sealed);
    if (!('result' in reply)) return { result: undefined };
    return reply.spent === undefined ? { result: reply.result } : { result: reply.result, spent: reply.spent };
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots = [];
  }

  /** Posts `req`; `payload`'s buffer is transferred when it owns it whole, or `transfer` is given. */
  private send(req: Request, payload: Uint8Array, transfer = ownsBuffer(payload) ? [payload.buffer as ArrayBuffer] : []): Promise<WorkerReply & { ok: true }> {
    const slot = this.slot();
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
    if (r.ok) p.resolve(r);
    else p.reject(new EbakError(r.code as ErrorCode, r.message));
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(new EbakError('IO', `worker thread failed: ${e.message}`, { cause: e }));
    this.pending.clear();
  }
}

/** A batch's request: its distinct keys, ids and plaintexts in one buffer (transferred), and four numbers a blob (SealBatch). */
function encodeSeals(batch: readonly Queued[], buffer: (bytes: number) => Buffer): { blobs: Int32Array; bytes: Buffer; keys: number } {
  const keys: Buffer[] = [];
  const keyOf = batch.map((q) => {
    const k = keys.findIndex((key) => key.equals(q.packKey));
    return k >= 0 ? k : keys.push(q.packKey) - 1;
  });
  const dataAt = (keys.length + batch.length) * BATCH_KEY_BYTES;
  const bytes = buffer(batch.reduce((n, q) => n + q.data.length, dataAt));
  keys.forEach((k, i) => k.copy(bytes, i * BATCH_KEY_BYTES));
  const blobs = new Int32Array(4 * batch.length);
  let at = dataAt;
  batch.forEach((q, i) => {
    q.id.copy(bytes, (keys.length + i) * BATCH_KEY_BYTES);
    blobs.set([keyOf[i]!, q.type, at, q.data.length], 4 * i);
    at += q.data.copy(bytes, at);
  });
  return { blobs, bytes, keys: keys.length };
}

/** Each blob of a batch answered with its sealed bytes: a view into the one reply buffer. */
function answerSeals(batch: readonly Queued[], reply: WorkerReply & { ok: true }): void {
  if (!('ends' in reply)) {
    const e = new EbakError('IO', 'worker thread answered a batch of blobs without them');
    return batch.forEach((q) => q.reject(e));
  }
  const r: SealedBatch = reply;
  let start = 0;
  batch.forEach((q, i) => {
    const end = r.ends[i]!;
    q.resolve({ data: Buffer.from(r.sealed.buffer, r.sealed.byteOffset + start, end - start), compressed: r.zstd[i] === 1 });
    start = end;
  });
}

function dataOf(r: WorkerReply & { ok: true }): Result {
  if (!('data' in r)) throw new EbakError('IO', 'worker thread answered a blob request without data');
  return { data: Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength), compressed: r.compressed, inPlace: r.inPlace === true };
}
