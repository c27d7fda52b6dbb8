import { EbakError } from '../errors.js';
import type { Cdc } from './cdc.js';

export const DEFAULT_READ_SIZE = 1024 * 1024;

/** What chunkFile reads through: a FileHandle, or a stream adapter reading the same way (backup --stdin). */
export interface ChunkSource {
  read(buffer: Uint8Array, offset: number, length: number, position: null): Promise<{ bytesRead: number }>;
}

/** Where chunkFile puts each chunk: a Buffer of exactly `length` bytes the caller may keep (or transfer). */
export type ChunkAlloc = (length: number) => Buffer;
/** Takes back a working buffer chunkFile is done with (see chunkFile's `give`). */
export type ChunkGive = (b: Uint8Array) => void;

/**
 * Reads a file through `handle` (from its current position) and yields each chunk
 * as its own Buffer: from `opts.alloc` (the backup's reused chunk buffers), by
 * default freshly allocated (exact length, byteOffset 0, not from the pool), so
 * the caller may transfer its ArrayBuffer to a worker thread. Memory: one
 * working buffer of at most max + readSize bytes (64 KiB for small files) plus the
 * chunk being yielded, whatever the file size. With `opts.give`, working buffers come from `alloc` too
 * and each one outgrown, and the last, goes to `give`: the backup's chunk buffers serve both, so a
 * file's working buffers are reused by later chunks and files, not left to the garbage collector
 * (one to four MiB a large file, held until the main isolate's next full collection: docs/benchmarks.md,
 * bmem6). Do not close `handle` before the generator has finished or been returned: a read may be in flight.
 */
export async function* chunkFile(handle: ChunkSource, cdc: Cdc, opts?: { readSize?: number; alloc?: ChunkAlloc; give?: ChunkGive; size?: number }): AsyncGenerator<Buffer> {
  const readSize = opts?.readSize ?? DEFAULT_READ_SIZE;
  const alloc = opts?.alloc ?? ((n: number) => Buffer.allocUnsafeSlow(n));
  if (!Number.isSafeInteger(readSize) || readSize < 1) throw new EbakError('USAGE', `chunkFile readSize must be a positive integer, got ${String(readSize)}`);
  const give = opts?.give;
  const capacity = cdc.params.max + readSize;
  const reader = new Reader(handle, capacity, readSize, firstBuffer(capacity, readSize, opts?.size), give && ((n) => plain(alloc(n))), give);
  try {
    let scanned = 0; // nextCut(start, scanned) answered -1: no cut before `scanned`
    for (;;) {
      const len = cdc.nextCut(reader.work, reader.start, reader.end, reader.eof, scanned);
      if (len > 0) {
        const chunk = alloc(len);
        chunk.set(reader.work.subarray(reader.start, reader.start + len));
        reader.start += len;
        scanned = reader.start;
        yield chunk;
      } else if (reader.eof) {
        return; // len === 0: nothing left
      } else {
        scanned = reader.end - reader.start;
        await reader.more();
        scanned += reader.start; // `more` may have moved the pending bytes to the front
      }
    }
  } finally {
    await reader.settle();
    give?.(reader.work);
  }
}

/** A plain Uint8Array over `b`'s bytes: the hot loop's loads stay monomorphic. */
const plain = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.length);

/** Starting size of the working buffer: small files never pay for a max-sized one. */
const INITIAL_BUFFER = 64 * 1024;
/** A file's working buffer starts at most this large when its size is known (it grows as it needs past it). */
const SIZED_BUFFER = 4 * 1024 * 1024;

/**
 * The working buffer's first size: for a file of known `size`, the file and
 * one read's room (its last read then finds room to see the end), so it is
 * made once, not doubled from INITIAL_BUFFER (each step a buffer: 406 for
 * 175 files on the real-file corpus, docs/benchmarks.md, bmem6); up to
 * SIZED_BUFFER, a large file's doubling goes on from there as it needs.
 */
function firstBuffer(capacity: number, readSize: number, size: number | undefined): number {
  return Math.min(capacity, size === undefined ? INITIAL_BUFFER : Math.max(INITIAL_BUFFER, Math.min(SIZED_BUFFER, size + readSize)));
}

/**
 * The working buffer: pending bytes are work[start, end). A cut is taken as soon as
 * nextCut can decide it; when it cannot (-1), `more` appends a read and the search
 * resumes where it stopped (only the 31-byte hash window is re-read). The next read
 * is started into the free tail while the caller hashes (the regions are disjoint),
 * so disk and hashing overlap. Only the unfinished chunk (< max bytes) is ever moved:
 * to the front when the tail is short, or into a buffer twice the size, which grows
 * from 64 KiB up to max + readSize bytes only as a file needs it.
 */
class Reader {
  // A plain Uint8Array (not a Buffer) keeps the hot loop's element loads monomorphic.
  work: Uint8Array;
  start = 0;
  end = 0;
  eof = false;
  private pending: Promise<number> | null = null;

  constructor(
    private readonly handle: ChunkSource,
    private readonly capacity: number,
    private readonly readSize: number,
    first: number,
    private readonly take: (length: number) => Uint8Array = (n) => new Uint8Array(n),
    private readonly give?: ChunkGive,
  ) {
    this.work = take(first);
  }

  /** Appends at least one byte, or sets eof. Called only when nextCut answered -1 (< max bytes pending). */
  async more(): Promise<void> {
    if (this.pending === null) {
      this.makeRoom();
      this.prefetch();
    }
    const bytesRead = await this.pending!;
    this.pending = null;
    this.end += bytesRead;
    if (bytesRead === 0) this.eof = true;
    else if (this.room() >= this.wantedRoom()) this.prefetch();
  }

  /** Waits for a read still in flight, so the caller may close the handle. */
  async settle(): Promise<void> {
    await this.pending?.catch(() => undefined);
    this.pending = null;
  }

  private room(): number {
    return this.work.length - this.end;
  }

  /** A read is worth issuing when it can fill readSize bytes or half the buffer. */
  private wantedRoom(): number {
    return Math.min(this.readSize, this.work.length >>> 1);
  }

  /**
   * Frees the tail by moving the pending bytes to the front, then by doubling the
   * buffer. At full capacity the move alone leaves >= readSize bytes, because fewer
   * than max bytes are pending.
   */
  private makeRoom(): void {
    if (this.room() >= this.wantedRoom()) return;
    const pending = this.work.subarray(this.start, this.end);
    let size = this.work.length;
    while (size < this.capacity && size - pending.length < Math.min(this.readSize, size >>> 1)) size = Math.min(this.capacity, size * 2);
    if (size === this.work.length) this.work.copyWithin(0, this.start, this.end);
    else {
      const outgrown = this.work;
      (this.work = this.take(size)).set(pending);
      this.give?.(outgrown);
    }
    this.end -= this.start;
    this.start = 0;
  }

  private prefetch(): void {
    const length = Math.min(this.readSize, this.room());
    const read = this.handle.read(this.work, this.end, length, null).then(
      (r) => r.bytesRead,
      (err: unknown) => {
        throw new EbakError('IO', `reading a file to chunk it failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      },
    );
    read.catch(() => undefined); // rejection is observed by `more`; don't report it as unhandled meanwhile
    this.pending = read;
  }
}

/**
 * Splits an in-memory buffer into chunks. The returned Buffers are views that
 * share memory with `data` (no copies): for tests and small inputs.
 */
export function chunkBuffer(data: Uint8Array, cdc: Cdc): Buffer[] {
  const chunks: Buffer[] = [];
  for (let start = 0; start < data.length; ) {
    const len = cdc.nextCut(data, start, data.length, true);
    chunks.push(Buffer.from(data.buffer, data.byteOffset + start, len));
    start += len;
  }
  return chunks;
}
