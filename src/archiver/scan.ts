/**
 * A quick pass over the source that only adds up file sizes, run beside the
 * backup so progress can show a percent and an ETA (as restic's scanner
 * goroutine). It adds to `total` as it goes: the total grows while the walk
 * proceeds, and `done` says when it is final. Aborting `signal` stops it
 * (the backup has finished first). It leaves out what the backup leaves out
 * (exclude.ts's Selection).
 *
 * It runs on a thread of its own (scanworker.ts), which posts its totals a
 * few times a second: on the main thread, its lstat of every entry and
 * readdir of every directory (synchronous, in slices between turns of the
 * event loop) took ~150 ms of an unchanged re-backup of 20,055 files that
 * the walk and the index load waited behind, and with a cold page cache all
 * the corpus's metadata reads one at a time: ~0.3 s of a 1.1 s cold run
 * (docs/benchmarks.md, rescan, rebfix).
 * On its own thread it uses the second core, as restic's scanner does, and
 * warms the inode and directory caches ahead of the walk.
 */
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { SelectOptions } from './exclude.js';
import type { ScanData, ScanMessage } from './scanworker.js';

export type ScanTotal = ScanMessage;

export interface ScanOptions {
  /** Filled as the scan proceeds. */
  total?: ScanTotal;
  signal?: AbortSignal;
}

export function scan(paths: readonly (string | Buffer)[], select: SelectOptions = {}, opts: ScanOptions = {}): Promise<ScanTotal> {
  const total = opts.total ?? { files: 0, bytes: 0, done: false };
  if (opts.signal?.aborted) return Promise.resolve(total);
  const roots = paths.map((p) => Uint8Array.from(typeof p === 'string' ? Buffer.from(resolve(p)) : p));
  const workerData: ScanData = { roots, select };
  const worker = new Worker(new URL('./scanworker.js', import.meta.url), { workerData });
  worker.unref(); // progress is advice: it never keeps the process up
  return new Promise((done) => {
    const stop = () => void worker.terminate();
    const end = () => {
      opts.signal?.removeEventListener('abort', stop);
      done(total);
    };
    opts.signal?.addEventListener('abort', stop, { once: true });
    worker.on('message', (m: ScanMessage) => void (Object.assign(total, m).done && end()));
    worker.on('error', () => undefined); // a scan that fails leaves the total not final
    worker.on('exit', end);
  });
}
