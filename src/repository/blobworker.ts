/**
 * Worker-thread entry: the CPU-heavy per-blob work runs here so both cores
 * work while the main thread chunks, hashes and does I/O. For backup: zstd
 * (kept only when it shrinks the blob) then AES-256-GCM sealing; for
 * restore: authenticate, decrypt, decompress and re-check the blob id,
 * either one blob answered with its plaintext, or a run of a pack's blobs
 * handed to a consumer's sink module here (BlobReader.readRun), which
 * answers for them: the plaintext never crosses back.
 */
import { parentPort } from 'node:worker_threads';
import { compressIfSmaller } from '../compress/index.js';
import { isEbakError } from '../errors.js';
import { owned } from '../util/buffers.js';
import type { OpenedBlob, RunConsumer } from './runsink.js';
import { openBlob, sealBlob, type BlobRef } from './blob.js';
import { fromWire, type RunBlob, type RunWire } from './runwire.js';

export type WorkerRequest =
  | { op: 'seal'; seq: number; packKey: Uint8Array; type: number; id: Uint8Array; data: Uint8Array; level: number }
  | { op: 'open'; seq: number; packKey: Uint8Array; blobKey: Uint8Array; ref: BlobRef; sealed: Uint8Array; what: string }
  | { op: 'run'; seq: number; packKey: Uint8Array; blobKey: Uint8Array; pack: string; blobs: RunWire; sealed: Uint8Array; sink: string; task: unknown };

export type WorkerReply =
  | { seq: number; ok: true; data: Uint8Array; compressed: boolean }
  | { seq: number; ok: true; result: unknown }
  | { seq: number; ok: false; code: string; message: string };

type Done = { data: Uint8Array; compressed: boolean } | { result: unknown };

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
    return { ok: true, data: openBlob(req.packKey, req.blobKey, b.ref, req.sealed.subarray(b.offset, b.offset + b.length), what) };
  } catch (e) {
    return { ok: false, code: isEbakError(e) ? e.code : 'IO', message: (e as Error).message };
  }
}

function* opening(req: Extract<WorkerRequest, { op: 'run' }>): Generator<OpenedBlob> {
  for (const b of fromWire(req.blobs)) yield openOne(req, b);
}

async function handle(req: WorkerRequest): Promise<Done> {
  if (req.op === 'open') return { data: openBlob(req.packKey, req.blobKey, req.ref, req.sealed, req.what), compressed: false };
  if (req.op === 'run') {
    const consume = await sinkAt(req.sink);
    return { result: consume(req.task, opening(req)) };
  }
  const packed = compressIfSmaller(req.data, req.level);
  return { data: sealBlob(req.packKey, req.type, req.id, req.data.length, packed ?? req.data, packed !== undefined), compressed: packed !== undefined };
}

parentPort?.on('message', (req: WorkerRequest) => {
  void handle(req).then(
    (done) => {
      if ('result' in done) return parentPort!.postMessage({ seq: req.seq, ok: true, result: done.result } satisfies WorkerReply);
      const data = owned(done.data);
      parentPort!.postMessage({ seq: req.seq, ok: true, data, compressed: done.compressed } satisfies WorkerReply, [data.buffer as ArrayBuffer]);
    },
    (e: unknown) => parentPort!.postMessage({ seq: req.seq, ok: false, code: isEbakError(e) ? e.code : 'IO', message: (e as Error).message } satisfies WorkerReply),
  );
});
