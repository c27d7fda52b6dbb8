/**
 * Worker-thread entry: the CPU-heavy per-blob work (zstd compression for
 * backup; decrypt + decompress + id check for restore) runs here so that both
 * cores work while the main thread chunks, hashes and does I/O.
 */
import { parentPort } from 'node:worker_threads';
import { compressIfSmaller } from '../compress/index.js';
import { isEbakError } from '../errors.js';
import { openBlob, type BlobRef } from './blob.js';

export type WorkerRequest =
  | { op: 'compress'; seq: number; data: Uint8Array; level: number }
  | { op: 'open'; seq: number; packKey: Uint8Array; blobKey: Uint8Array; ref: BlobRef; sealed: Uint8Array; what: string };

export type WorkerReply =
  | { seq: number; ok: true; data: Uint8Array | undefined }
  | { seq: number; ok: false; code: string; message: string };

function handle(req: WorkerRequest): Uint8Array | undefined {
  if (req.op === 'compress') return compressIfSmaller(req.data, req.level);
  return openBlob(req.packKey, req.blobKey, req.ref, req.sealed, req.what);
}

parentPort?.on('message', (req: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    const data = handle(req);
    reply = { seq: req.seq, ok: true, data };
  } catch (e) {
    reply = { seq: req.seq, ok: false, code: isEbakError(e) ? e.code : 'IO', message: (e as Error).message };
  }
  const transfer = reply.ok && reply.data ? [reply.data.buffer as ArrayBuffer] : [];
  parentPort!.postMessage(reply, transfer);
});
