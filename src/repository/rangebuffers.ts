/**
 * The buffers a restore's ranged reads go into (BlobReader.readRun): a fixed
 * number of them, one per read in flight, each of the largest run's size. A
 * pool of buffers sized to each read (util/bufferpool.ts) kept those of one
 * size while reads of another made new ones: 65–70 MiB of range buffers lived
 * at once against 32 MiB of reads in flight (docs/benchmarks.md, rstmem). A
 * buffer of the largest size fits every read, so none is made again once
 * each slot has one; a fresh one is a mapping of its own (bin/ebak's
 * MALLOC_MMAP_THRESHOLD_), so only the pages a read has written are resident.
 */
import { Semaphore } from '../util/semaphore.js';
import { ownsBuffer } from '../util/buffers.js';

export class RangeBuffers {
  private readonly slots: Semaphore;
  /** Buffers back from their reads (at most one a slot), for the next ones. */
  private readonly free: Buffer[] = [];

  /** `count` reads at once, each into a buffer of at least `size` bytes. */
  constructor(count: number, private readonly size: number) {
    this.slots = new Semaphore(count);
  }

  /**
   * Runs `use` with a buffer of at least `n` bytes, owned whole (so it may be transferred), once a slot
   * is free. `use` answers with the memory it hands back (the buffer itself, or it back from a worker),
   * which the next read reuses if it is whole and large enough.
   */
  async with<T>(n: number, use: (into: Buffer) => Promise<{ value: T; back?: Uint8Array }>): Promise<T> {
    const release = await this.slots.acquire();
    try {
      const into = this.free.pop();
      const { value, back } = await use(into && into.length >= n ? into : Buffer.allocUnsafeSlow(Math.max(n, this.size)));
      if (back && ownsBuffer(back) && back.byteLength >= this.size) this.free.push(Buffer.from(back.buffer, 0, back.byteLength));
      return value;
    } finally {
      release();
    }
  }
}
