/**
 * Worker-thread entry: the CPU-heavy per-blob work runs here so both cores
 * work while the main thread chunks, hashes and does I/O. For backup: zstd
 * (kept only when it shrinks the blob) then AES-256-GCM sealing, one blob a
 * message or, for small blobs, a batch of them in one buffer each way; for
 * restore: authenticate, decrypt, decompress and re-check the blob id,
 * either one blob answered with its plaintext, or a run of a pack's blobs
 * handed to a consumer's sink module here (BlobReader.readRun), which
 * answers for them: the plaintext never crosses back.
 */
import { parentPort } from 'node:worker_threads';
import { compressIfSmaller } from '../compress/index.js';
import { isEbakError } from '../errors.js';
import { owned, ownsBuffer } from '../util/buffers.js';
import type { OpenedBlob, RunConsumer } from './runsink.js';
import { openBlob, sealBlob, sealBlobInPlace, type BlobRef } from './blob.js';
import { fromWire, type RunBlob, type RunWire } from './runwire.js';

export type WorkerRequest =
  | { op: 'seal'; seq: number; packKey: Uint8Array; type: number; id: Uint8Array; data: Uint8Array; level: number; inPlace?: boolean }
  | { op: 'open'; seq: number; packKey: Uint8Array; blobKey: Uint8Array; ref: BlobRef; sealed: Uint8Array; what: string }
  | { op: 'run'; seq: number; packKey: Uint8Array; blobKey: Uint8Array; pack: string; blobs: RunWire; sealed: Uint8Array; sink: string; task: unknown }
  | SealBatch;

/**
 * Small blobs to seal, in one message (WorkerPool.seal): `bytes` holds the
 * `keys` distinct 32-byte pack keys, then each blob's 32-byte id, then the
 * blobs' plaintexts; `blobs` gives per blob its key's index, type, and its
 * plaintext's offset and length in `bytes` (four numbers a blob).
 */
export interface SealBatch {
  op: 'seals';
  seq: number;
  keys: number;
  blobs: Int32Array;
  bytes: Uint8Array;
  level: number;
}

/**
 * A sealed batch: the sealed blobs end to end in `sealed`, where each ends
 * (`ends`), and which were compressed (`zstd`, 1 a blob); `spent` is the
 * request's `bytes`, handed back for the next batch (workers.ts).
 */
export interface SealedBatch {
  sealed: Uint8Array;
  ends: Int32Array;
  zstd: Uint8Array;
  spent: Uint8Array;
}

/** Pack keys and blob ids in a SealBatch. */
export const BATCH_KEY_BYTES = 32;

export type WorkerReply =
  | { seq: number; ok: true; data: Uint8Array; compressed: boolean; inPlace?: boolean }
  | { seq: number; ok: true; result: unknown; spent?: Uint8Array }
  | ({ seq: number; ok: true } & SealedBatch)
  | { seq: number; ok: false; code: string; message: string };

type Done = { data: Uint8Array; compressed: boolean; inPlace?: boolean } | { result: unknown } | SealedBatch;

/** Sink modules, each loaded once. */
const sinks = new Map<string, Promise<RunConsumer>>();

function sinkAt(href: string): Promise<RunConsumer> {
  let s = sinks.get(href);
  if (!s) sinks.set(href, (s = import(href).then((m: { consume: RunConsumer }) => m.consume)));
  return s;
}

function openOne(req: Extract<WorkerRequest, { op: 'run' }>, b: RunBlob): OpenedBlob {
  try {
    const what = `blob ${Buffer.from(b.ref.id).toString('hex', 0, 8)} in data/${req.pack}`;
    return { ok: true, data: openBlob(req.packKey, req.blobKey, b.ref, req.sealed.subarray(b.offset, b.offset + b.length), what, true) };
  } catch (e) {
    return { ok: false, code: isEbakError(e) ? e.code : 'IO', message: (e as Error).message };
  }
}

function* opening(req: Extract<WorkerRequest, { op: 'run' }>): Generator<OpenedBlob> {
  for (const b of fromWire(req.blobs)) yield openOne(req, b);
}

/** Seals a batch's blobs, each as the one-blob `seal` does, into one buffer owned whole (transferred back). */
function sealBatch(req: SealBatch): SealedBatch {
  const n = req.blobs.length / 4;
  const idsAt = req.keys * BATCH_KEY_BYTES;
  const sealed: Buffer[] = [];
  const ends = new Int32Array(n);
  const zstd = new Uint8Array(n);
  let end = 0;
  for (let i = 0; i < n; i++) {
    const [k, type, offset, length] = req.blobs.subarray(4 * i, 4 * i + 4) as unknown as [number, number, number, number];
    const key = req.bytes.subarray(k * BATCH_KEY_BYTES, (k + 1) * BATCH_KEY_BYTES);
    const id = req.bytes.subarray(idsAt + i * BATCH_KEY_BYTES, idsAt + (i + 1) * BATCH_KEY_BYTES);
    const data = req.bytes.subarray(offset, offset + length);
    const packed = compressIfSmaller(data, req.level);
    const s = sealBlob(key, type, id, length, packed ?? data, packed !== undefined);
    sealed.push(s);
    end += s.length;
    ends[i] = end;
    zstd[i] = packed === undefined ? 0 : 1;
  }
  const out = Buffer.allocUnsafeSlow(end); // never a pooled slice: it is transferred
  let at = 0;
  for (const s of sealed) at += s.copy(out, at);
  return { sealed: out, ends, zstd, spent: req.bytes };
}

/**
 * Sealing leaves its input's size in garbage: node:crypto answers each
 * AES-GCM update with a new buffer. A worker allocates little else, so
 * its isolate collected them only past ~64 MiB of external memory (two
 * workers: up to ~100 MiB of the process's peak on one large file). A
 * scavenge every SCAVENGE_BYTES sealed frees them young, at ~0.1 ms each.
 * `gc` is there when the process exposes it (bin/ebak does; plain `node`
 * does not, and nothing is done).
 */
const SCAVENGE_BYTES = 4 * 1024 * 1024;
const gc = (globalThis as { gc?: (o: { type: 'minor' }) => void }).gc;
let sealedSinceScavenge = 0;

function sealed(bytes: number): void {
  if (gc === undefined || (sealedSinceScavenge += bytes) < SCAVENGE_BYTES) return;
  sealedSinceScavenge = 0;
  gc({ type: 'minor' });
}

async function handle(req: WorkerRequest): Promise<Done> {
  if (req.op === 'seals') return sealBatch(req);
  if (req.op === 'open') return { data: openBlob(req.packKey, req.blobKey, req.ref, req.sealed, req.what), compressed: false };
  if (req.op === 'run') {
    const consume = await sinkAt(req.sink);
    return { result: consume(req.task, opening(req)) };
  }
  const packed = compressIfSmaller(req.data, req.level);
  // A chunk buffer (inPlace: room for the nonce and tag around it) is sealed where it lies and goes back whole.
  if (req.inPlace) return { data: sealBlobInPlace(req.packKey, req.type, req.id, req.data, packed), compressed: packed !== undefined, inPlace: true };
  return { data: sealBlob(req.packKey, req.type, req.id, req.data.length, packed ?? req.data, packed !== undefined), compressed: packed !== undefined };
}

/**
 * A run's answer, with its sealed range handed back (transferred, when it came whole) for the
 * next ranged read to reuse (blobreader.ts): opened in place, nothing here refers to it any more.
 */
function answerRun(req: WorkerRequest, result: unknown): void {
  const spent = req.op === 'run' && ownsBuffer(req.sealed) ? req.sealed : undefined;
  const reply: WorkerReply = spent ? { seq: req.seq, ok: true, result, spent } : { seq: req.seq, ok: true, result };
  parentPort!.postMessage(reply, spent ? [spent.buffer as ArrayBuffer] : []);
}

parentPort?.on('message', (req: WorkerRequest) => {
  void handle(req).then(
    (done) => {
      if (req.op === 'seal' || req.op === 'seals') sealed(req.op === 'seal' ? req.data.byteLength : req.bytes.byteLength);
      else if (req.op === 'run') sealed(req.sealed.byteLength); // opening leaves its pieces' output (crypto openInto) as the same garbage
      if ('result' in done) return answerRun(req, done.result);
      if ('ends' in done) return parentPort!.postMessage({ seq: req.seq, ok: true, ...done } satisfies WorkerReply, [done.sealed.buffer as ArrayBuffer, done.spent.buffer as ArrayBuffer]);
      const data = done.inPlace ? done.data : owned(done.data);
      parentPort!.postMessage({ seq: req.seq, ok: true, data, compressed: done.compressed, inPlace: done.inPlace } satisfies WorkerReply, [data.buffer as ArrayBuffer]);
    },
    (e: unknown) => parentPort!.postMessage({ seq: req.seq, ok: false, code: isEbakError(e) ? e.code : 'IO', message: (e as Error).message } satisfies WorkerReply),
  );
});
