/**
 * Large files chunked off the main thread: a thread of its own
 * (chunkworker.ts) reads each file, cuts it and computes its chunks' ids;
 * the main thread gets each chunk with its id and only deduplicates it and
 * queues its seal. In a first backup the main thread was the bottleneck
 * (event-loop utilisation 0.86-0.95) with the gear scan and the chunk-id
 * HMAC a third of its CPU, while the blob workers were a third idle
 * (docs/benchmarks.md, bfirst). Moving only the HMAC to the blob workers,
 * a round trip per chunk, did not pay (bhash): here the chunks stream one
 * way, `CREDIT` bytes ahead of the backup, with no round trip per chunk.
 *
 * The thread starts with the first large file (an unchanged re-backup
 * reads none) and holds the repository's gear seed and blob-id key, as the
 * blob workers hold pack keys: in this process, never on disk.
 */
import { Worker } from 'node:worker_threads';
import { EbakError, type ErrorCode } from '../errors.js';
import { adoptBlobBuffer, takeFreeBlobBuffers } from '../repository/blobbuffers.js';
import type { Chunking } from '../repository/api.js';
import type { ChunkerData, ChunkFailure, ChunkReply, ChunkRequest } from './chunkworker.js';
import { sourceError } from './sourcefile.js';

/** Bytes of chunks the thread may have handed over ahead of the backup: a few chunks, so it never waits for the main thread's turn. */
const CREDIT = 8 * 1024 * 1024;

/** A chunk and its keyed id; `data` is a chunk buffer the caller owns (and may transfer). */
export interface IdentifiedChunk {
  data: Buffer;
  id: Buffer;
}

/** One file's replies, in order, and the reader waiting for the next. */
interface FileReplies {
  replies: ChunkReply[];
  wake: (() => void) | undefined;
}

export class FileChunker {
  private worker: Worker | undefined;
  private seq = 0;
  private readonly files = new Map<number, FileReplies>();
  private failed: Error | undefined;

  constructor(private readonly chunking: Chunking) {}

  /**
   * The chunks of the file at `path` (`size` bytes at the walk), read, cut
   * and identified on the chunking thread, in order. A file that cannot be
   * read throws a SourceError (sourcefile.ts); a file that grows or shrinks
   * meanwhile gives the bytes read. Stopping early tells the thread to stop.
   */
  async *chunks(path: Buffer, size: number): AsyncGenerator<IdentifiedChunk> {
    const seq = ++this.seq;
    const file: FileReplies = { replies: [], wake: undefined };
    this.files.set(seq, file);
    this.send({ op: 'file', seq, path: Uint8Array.from(path), size });
    let ended = false;
    try {
      for (;;) {
        const reply = file.replies.shift() ?? (await this.next(file));
        if ('end' in reply) return void (ended = true);
        if ('failed' in reply) {
          ended = true;
          throw sourceError(rebuilt(reply.failed), path);
        }
        const data = Buffer.from(reply.chunk.buffer, reply.chunk.byteOffset, reply.chunk.byteLength);
        adoptBlobBuffer(data);
        const length = data.length; // the caller transfers `data` to a blob worker
        yield { data, id: Buffer.from(reply.id.buffer, reply.id.byteOffset, reply.id.byteLength) };
        this.credit(length);
      }
    } finally {
      this.files.delete(seq);
      if (!ended) this.send({ op: 'cancel', seq });
      for (const r of file.replies) if ('chunk' in r) this.credit(r.chunk.byteLength, r.chunk.buffer as ArrayBuffer);
    }
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private async next(file: FileReplies): Promise<ChunkReply> {
    while (file.replies.length === 0) {
      if (this.failed) throw this.failed;
      await new Promise<void>((r) => (file.wake = r));
    }
    return file.replies.shift()!;
  }

  /** `bytes` of chunks taken; free chunk buffers go back with it (and `spare`, a chunk not wanted). */
  private credit(bytes: number, spare?: ArrayBuffer): void {
    const buffers = takeFreeBlobBuffers(this.chunking.params.min);
    if (spare) buffers.push(spare);
    this.send({ op: 'credit', bytes, buffers }, buffers);
  }

  /** Nothing once the thread has failed: the file waiting for a reply throws it (`next`). */
  private send(req: ChunkRequest, transfer: ArrayBuffer[] = []): void {
    if (this.failed) return;
    (this.worker ??= this.start()).postMessage(req, transfer);
  }

  private start(): Worker {
    const { gearSeed, params, blobIdKey } = this.chunking;
    const workerData: ChunkerData = { gearSeed: Uint8Array.from(gearSeed), params, blobIdKey: Uint8Array.from(blobIdKey), credit: CREDIT };
    const worker = new Worker(new URL('./chunkworker.js', import.meta.url), { workerData });
    worker.on('message', (r: ChunkReply) => this.arrived(r));
    worker.on('error', (e) => this.fail(new EbakError('IO', `the chunking thread failed: ${e.message}`, { cause: e })));
    return worker;
  }

  private arrived(r: ChunkReply): void {
    const file = this.files.get(r.seq);
    if (!file) {
      if ('chunk' in r) this.credit(r.chunk.byteLength, r.chunk.buffer as ArrayBuffer); // a file given up: its chunk goes back
      return;
    }
    file.replies.push(r);
    file.wake?.();
    file.wake = undefined;
  }

  /** The thread died: every file waiting fails with it (the backup, not the file: not a SourceError). */
  private fail(e: Error): void {
    this.failed ??= e;
    for (const file of this.files.values()) file.wake?.();
  }
}

/** The error the thread met, as the main thread would have met it: an EbakError, or a system error with its code. */
function rebuilt(f: ChunkFailure): Error {
  if (f.ebak) return new EbakError(f.code as ErrorCode, f.message);
  return Object.assign(new Error(f.message), { code: f.code });
}
