/**
 * Reading ahead for a first backup (no parent: every file is read): a
 * thread of its own (prefetchworker.ts) walks the source in the backup's
 * order and reads the files a little ahead of the backup, so that with a
 * cold page cache the disk works while the main thread chunks and hashes.
 * Without it every small file's read (synchronous, on the main thread) and
 * every large file's next 4 MiB waited for the disk in turn: a first backup
 * of 6,778 real files (1068 MiB) took 7.7 s cold against 5.5 s with the
 * files cached (docs/benchmarks.md, bpar).
 *
 * Memory stays flat: the thread reads into one 1 MiB buffer and keeps at
 * most LEAD bytes ahead of what the backup has read (`read` adds to a
 * shared counter); once that far ahead it sleeps until the backup has
 * caught up by half of LEAD, and `read` wakes it only then: a wake per
 * chunk (a futex call and a thread switch each) cost the main thread
 * ~0.35 s of a 1 GiB backup (docs/benchmarks.md, bfirst). What it read lives in the page cache, which
 * the kernel reclaims as it needs. A backup with a parent reads only changed
 * files: it starts no thread.
 */
import { Worker } from 'node:worker_threads';
import type { SelectOptions } from './exclude.js';
import type { PrefetchData } from './prefetchworker.js';

const LEAD = 64 * 1024 * 1024;

export class Prefetch {
  /** [0]: bytes the backup has read; [1]: 1 once the walk is to stop; [2]: the [0] at which the thread wants waking (prefetchworker.ts). */
  private readonly counter = new BigInt64Array(new SharedArrayBuffer(3 * 8));
  private readonly worker: Worker;

  /** Starts reading `roots` (the backup paths, absolute) ahead, in byte order as the backup takes them (root.ts), at most `lead` bytes ahead. */
  constructor(roots: readonly Buffer[], select: SelectOptions, lead = LEAD) {
    const sorted = [...new Set(roots.map((r) => r.toString('latin1')))].sort().map((r) => Buffer.from(r, 'latin1'));
    const workerData: PrefetchData = { roots: sorted.map((r) => Uint8Array.from(r)), select, counter: this.counter.buffer as SharedArrayBuffer, lead };
    this.worker = new Worker(new URL('./prefetchworker.js', import.meta.url), { workerData });
    this.worker.unref();
    this.worker.on('error', () => undefined); // advice only: the backup reads for itself
  }

  /** The backup has read `bytes` more. */
  read(bytes: number): void {
    const now = Atomics.add(this.counter, 0, BigInt(bytes)) + BigInt(bytes);
    if (now >= Atomics.load(this.counter, 2)) Atomics.notify(this.counter, 0);
  }

  async close(): Promise<void> {
    Atomics.store(this.counter, 1, 1n);
    Atomics.notify(this.counter, 0);
    await this.worker.terminate();
  }
}
