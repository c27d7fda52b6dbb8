/**
 * Large buffers kept for reuse, by size class. A buffer freed instead is
 * garbage until the isolate holding it last next collects (a worker that
 * allocates little does so rarely: the main thread's malloc heap held ~50
 * MiB of seal batches at 200,000 small files, docs/benchmarks.md, bmem3),
 * and a fresh one is a fresh mapping (bin/ebak's MALLOC_MMAP_THRESHOLD_)
 * whose every 4 KiB page faults as it is first written: a restore's ranged
 * reads into new buffers cost its thread-pool reads ~0.3 s of page faults
 * per GiB (docs/benchmarks.md, rfast). Buffers are owned whole, so they may
 * be transferred to a worker and back.
 */
import { ownsBuffer } from './buffers.js';

/** Sizes up to this are powers of two; above, multiples of it (a class wastes at most this much, or half). */
const STEP = 1024 * 1024;

export class BufferPool {
  private readonly kept = new Map<number, Buffer[]>();
  private keptBytes = 0;

  /**
   * `min`: the smallest size class; at most `perSize` buffers of one class and `maxBytes` in all are kept
   * (what is handed back beyond that is left to the garbage collector).
   */
  constructor(private readonly min: number, private readonly perSize: number, private readonly maxBytes: number) {}

  /** The size of the buffer take(n) gives. */
  sizeFor(n: number): number {
    if (n > STEP) return Math.ceil(n / STEP) * STEP;
    let size = this.min;
    while (size < n) size *= 2;
    return size;
  }

  /** A buffer of sizeFor(n) bytes, owned whole: a kept one, else a new one. */
  take(n: number): Buffer {
    const size = this.sizeFor(n);
    const b = this.kept.get(size)?.pop();
    if (b === undefined) return Buffer.allocUnsafeSlow(size);
    this.keptBytes -= size;
    return b;
  }

  /** Keeps a buffer that take() gave, handed back whole (a view of all of it, after a round trip to a worker), for a later take. */
  give(b: Uint8Array): void {
    const size = b.byteLength;
    if (!ownsBuffer(b) || size !== this.sizeFor(size) || this.keptBytes + size > this.maxBytes) return;
    const same = this.kept.get(size) ?? this.kept.set(size, []).get(size)!;
    if (same.length >= this.perSize) return;
    same.push(Buffer.from(b.buffer, 0, size));
    this.keptBytes += size;
  }
}
