/**
 * Large buffers kept for reuse. A buffer freed instead is garbage until the
 * isolate holding it last next collects (a worker that allocates little
 * does so rarely: the main thread's malloc heap held ~50 MiB of seal
 * batches at 200,000 small files, docs/benchmarks.md, bmem3), and a fresh
 * one is a fresh mapping (bin/ebak's MALLOC_MMAP_THRESHOLD_) whose every
 * 4 KiB page faults as it is first written: a restore's ranged reads into
 * new buffers cost its thread-pool reads ~0.3 s of page faults per GiB
 * (docs/benchmarks.md, rfast; they now have a fixed set of their own,
 * repository/rangebuffers.ts). Used for the seal batches (workers.ts).
 * Buffers are owned whole, so they may be transferred to a worker and back.
 */
import { ownsBuffer } from './buffers.js';

/** New buffers up to this size are powers of two; above it, multiples of it. */
const STEP = 1024 * 1024;

export class BufferPool {
  /** Kept buffers, in no order (a pool holds a few dozen at most). */
  private readonly kept: Buffer[] = [];
  private keptBytes = 0;

  /**
   * `min`: the smallest buffer made; at most `maxCount` buffers and `maxBytes` in all are kept
   * (what is handed back beyond that is left to the garbage collector, smaller ones first).
   */
  constructor(private readonly min: number, private readonly maxCount: number, private readonly maxBytes: number) {}

  /**
   * A buffer of at least `n` bytes, owned whole: the smallest kept one that is at most twice `n`
   * (so what a caller holds stays within twice what it asked for), else a new one.
   */
  take(n: number): Buffer {
    let best: Buffer | undefined;
    for (const b of this.kept) if (b.length >= n && b.length <= 2 * Math.max(n, this.min) && (!best || b.length < best.length)) best = b;
    if (!best) return Buffer.allocUnsafeSlow(sizeFor(n, this.min));
    this.kept.splice(this.kept.indexOf(best), 1);
    this.keptBytes -= best.length;
    return best;
  }

  /** Keeps a buffer that take() gave, handed back whole (after a round trip to a worker: a view of all of it), for a later take. */
  give(b: Uint8Array): void {
    if (!ownsBuffer(b)) return;
    const size = b.byteLength;
    while (this.kept.length > 0 && (this.keptBytes + size > this.maxBytes || this.kept.length >= this.maxCount)) {
      const smallest = this.kept.reduce((x, y) => (y.length < x.length ? y : x));
      if (smallest.length >= size) return;
      this.kept.splice(this.kept.indexOf(smallest), 1);
      this.keptBytes -= smallest.length;
    }
    if (this.keptBytes + size > this.maxBytes) return;
    this.kept.push(Buffer.from(b.buffer, 0, size));
    this.keptBytes += size;
  }
}

function sizeFor(n: number, min: number): number {
  if (n > STEP) return Math.ceil(n / STEP) * STEP;
  let size = min;
  while (size < n) size *= 2;
  return size;
}
