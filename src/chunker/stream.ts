import { EbakError } from '../errors.js';
import type { Cdc } from './cdc.js';

export const DEFAULT_READ_SIZE = 4 * 1024 * 1024;

/** What chunkFile reads through: a FileHandle, or a stream adapter reading the same way (backup --stdin). */
export interface ChunkSource {
  read(buffer: Uint8Array, offset: number, length: number, position: null): Promise<{ bytesRead: number }>;
}

/** Where chunkFile puts each chunk: a Buffer of exactly `length` bytes the caller may keep (or transfer). */
export type ChunkAlloc = (length: number) => Buffer;

/**
 * Reads a file through `handle` (from its current position) and yields each chunk
 * as its own Buffer: from `opts.alloc` (the backup's reused chunk buffers), by
 * default freshly allocated (exact length, byteOffset 0, not from the pool), so
 * the caller may transfer its ArrayBuffer to a worker thread. Memory: one
 * working buffer of at most max + readSize bytes (64 KiB for small files) plus the
 * chunk being yielded, whatever the file size. Do not close `handle` before the generator has finished or been
 * returned: a read may be in flight.
 */
export async function* chunkFile(handle: ChunkSource, cdc: Cdc, opts?: { readSize?: number; alloc?: ChunkAlloc }): AsyncGenerator<Buffer> {
  const readSize = opts?.readSize ?? DEFAULT_READ_SIZE;
  const alloc = opts?.alloc ?? ((n: number) => Buffer.allocUnsafeSlow(n));
  if (!Number.isSafeInteger(readSize) || readSize < 1) throw new EbakError('USAGE', `chunkFile readSize must be a positive integer, got ${String(readSize)}`);
  const reader = new Reader(handle, cdc.params.max + readSize, readSize);
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
  }
}

/** Starting size of the working buffer: small files never pay for a max-sized one. */
const INITIAL_BUFFER = 64 * 1024;

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
  ) {
    this.work = new Uint8Array(Math.min(capacity, INITIAL_BUFFER));
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
    else (this.work = new Uint8Array(size)).set(pending);
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
