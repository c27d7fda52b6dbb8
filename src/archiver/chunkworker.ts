/**
 * Worker-thread entry of FileChunker (chunking.ts): reads a large file,
 * cuts it (chunker/stream.ts chunkFile, the same cuts as anywhere) and
 * computes each chunk's keyed id (repository/blobid.ts), then hands chunk
 * and id to the main thread, which only deduplicates and queues the seal.
 * The gear scan and the HMAC were a third of the main thread's CPU in a
 * first backup, the main thread its bottleneck (docs/benchmarks.md, bfirst).
 *
 * Files are taken one at a time, in the order asked. A chunk's buffer is a
 * chunk buffer (repository/blobbuffers.ts) transferred, not copied: the
 * main thread seals it where it lies and sends free ones back with its
 * credit. At most `credit` bytes of chunks are handed over and not yet
 * taken by the backup, so memory stays flat. The keys stay in this
 * process: workerData, never the disk.
 */
import { open } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { Cdc, chunkFile, gearTable, type ChunkerParams } from '../chunker/index.js';
import { isEbakError } from '../errors.js';
import { BlobIds } from '../repository/blobid.js';
import { giveBlobBuffer, keepBlobBuffers, takeBlobBuffer } from '../repository/blobbuffers.js';
import { OPEN_FLAGS, SourceError, stillRegular } from './sourcefile.js';

export interface ChunkerData {
  gearSeed: Uint8Array;
  params: ChunkerParams;
  blobIdKey: Uint8Array;
  /** Bytes of chunks handed over and not yet credited back, at most. */
  credit: number;
}

export type ChunkRequest =
  | { op: 'file'; seq: number; path: Uint8Array; size: number }
  /** The backup took `bytes` of chunks; `buffers`: free chunk buffers for this thread's pool. */
  | { op: 'credit'; bytes: number; buffers: ArrayBuffer[] }
  /** The backup no longer wants file `seq`'s chunks. */
  | { op: 'cancel'; seq: number };

/** Why a file could not be read: an EbakError's code, or the system error's (ENOENT, EACCES). */
export interface ChunkFailure {
  ebak: boolean;
  code: string;
  message: string;
}

export type ChunkReply =
  | { seq: number; chunk: Uint8Array; id: Uint8Array }
  | { seq: number; end: true }
  | { seq: number; failed: ChunkFailure };

const data = workerData as ChunkerData;
const cdc = new Cdc(gearTable(data.gearSeed), data.params);
const ids = new BlobIds(data.blobIdKey);

/** Files asked for and neither finished nor cancelled. */
const live = new Set<number>();
let outstanding = 0;
let credited: (() => void) | undefined;
let queue = Promise.resolve();

const post = (reply: ChunkReply, transfer: ArrayBuffer[] = []): void => parentPort!.postMessage(reply, transfer);

function failure(e: unknown): ChunkFailure {
  const error = e instanceof SourceError ? e.error : e;
  if (isEbakError(error)) return { ebak: true, code: error.code, message: error.message };
  return { ebak: false, code: String((error as NodeJS.ErrnoException).code ?? ''), message: (error as Error).message };
}

/** Until the backup has taken enough of what was handed over (or cancelled the file). */
async function waitForCredit(seq: number): Promise<void> {
  while (outstanding >= data.credit && live.has(seq)) await new Promise<void>((r) => (credited = r));
}

async function chunkOne(seq: number, path: Buffer, size: number): Promise<void> {
  if (!live.has(seq)) return;
  let fh;
  try {
    fh = await open(path, OPEN_FLAGS);
    stillRegular(path, (await fh.stat()).isFile());
  } catch (e) {
    await fh?.close();
    return post({ seq, failed: failure(e) });
  }
  try {
    for await (const chunk of chunkFile(fh, cdc, { alloc: takeBlobBuffer, give: giveBlobBuffer, size })) {
      if (!live.has(seq)) return giveBlobBuffer(chunk);
      const id = ids.id(chunk);
      outstanding += chunk.length;
      post({ seq, chunk, id }, [chunk.buffer as ArrayBuffer]);
      await waitForCredit(seq);
    }
    post({ seq, end: true });
  } catch (e) {
    post({ seq, failed: failure(e) });
  } finally {
    live.delete(seq);
    await fh.close();
  }
}

parentPort!.on('message', (req: ChunkRequest) => {
  if (req.op === 'file') {
    live.add(req.seq);
    const path = Buffer.from(req.path.buffer, req.path.byteOffset, req.path.byteLength);
    queue = queue.then(() => chunkOne(req.seq, path, req.size));
    return;
  }
  if (req.op === 'credit') {
    outstanding -= req.bytes;
    keepBlobBuffers(req.buffers);
  } else live.delete(req.seq);
  credited?.();
  credited = undefined;
});
