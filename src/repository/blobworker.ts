/**
 * Worker-thread entry: the CPU-heavy per-blob work runs here so both cores
 * work while the main thread chunks, hashes and does I/O. For backup: zstd
 * (kept only when it shrinks the blob) then AES-256-GCM sealing; for
 * restore: authenticate, decrypt, decompress and re-check the blob id.
 */
import { parentPort } from 'node:worker_threads';
import { compressIfSmaller } from '../compress/index.js';
import { isEbakError } from '../errors.js';
import { owned } from '../util/buffers.js';
import { openBlob, sealBlob, type BlobRef } from './blob.js';

export type WorkerRequest =
  | { op: 'seal'; seq: number; packKey: Uint8Array; type: number; id: Uint8Array; data: Uint8Array; level: number }
  | { op: 'open'; seq: number; packKey: Uint8Array; blobKey: Uint8Array; ref: BlobRef; sealed: Uint8Array; what: string };

export type WorkerReply =
  | { seq: number; ok: true; data: Uint8Array; compressed: boolean }
  | { seq: number; ok: false; code: string; message: string };

function handle(req: WorkerRequest): { data: Uint8Array; compressed: boolean } {
  if (req.op === 'open') return { data: openBlob(req.packKey, req.blobKey, req.ref, req.sealed, req.what), compressed: false };
  const packed = compressIfSmaller(req.data, req.level);
  return { data: sealBlob(req.packKey, req.type, req.id, req.data.length, packed ?? req.data, packed !== undefined), compressed: packed !== undefined };
}

parentPort?.on('message', (req: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    const { data, compressed } = handle(req);
    reply = { seq: req.seq, ok: true, data: owned(data), compressed };
  } catch (e) {
    reply = { seq: req.seq, ok: false, code: isEbakError(e) ? e.code : 'IO', message: (e as Error).message };
  }
  parentPort!.postMessage(reply, reply.ok ? [reply.data.buffer as ArrayBuffer] : []);
});

