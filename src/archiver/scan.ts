/**
 * A quick pass over the source that only adds up file sizes, run beside the
 * backup so progress can show a percent and an ETA (as restic's scanner). It
 * adds to `total` as it goes: the total grows while the walk proceeds, and
 * `done` says when it is final. Aborting `signal` stops it (the backup has
 * finished first). Names are read as bytes, as the backup reads them, so
 * none is missed for not being UTF-8. It leaves out what the backup leaves
 * out (exclude.ts's Selection).
 *
 * Its calls are synchronous, in slices of SLICE entries with a turn of the
 * event loop between them, so it never holds the backup's own walk up for
 * long. Asynchronous calls cost a thread-pool round trip each: on an
 * unchanged re-backup of 8,000 entries the scan's lstat and readdir through
 * fs/promises took 0.15-0.2 s of CPU (main thread and pool), more than the
 * backup's own lstats (docs/benchmarks.md, rebackup).
 */
import { lstatSync, type BigIntStats } from 'node:fs';
import { resolve } from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { Selection, type SelectOptions } from './exclude.js';
import { dirNames } from './names.js';

const SLASH = Buffer.from('/');
/** Entries looked at between two turns of the event loop. */
const SLICE = 256;

export interface ScanTotal {
  files: number;
  bytes: number;
  done: boolean;
}

export interface ScanOptions {
  /** Filled as the scan proceeds. */
  total?: ScanTotal;
  signal?: AbortSignal;
}

export async function scan(paths: readonly (string | Buffer)[], select: SelectOptions = {}, opts: ScanOptions = {}): Promise<ScanTotal> {
  const selection = new Selection(select);
  const total = opts.total ?? { files: 0, bytes: 0, done: false };
  let sliced = 0;
  const visit = async (path: Buffer, parentDev: bigint | undefined): Promise<void> => {
    if (++sliced % SLICE === 0) await turn();
    const named = selection.byName(path);
    if (opts.signal?.aborted || named === 'skip') return;
    const st = lstatOrNot(path);
    const verdict = st && selection.byStat(st, parentDev);
    if (verdict === 'skip' || (named === 'enter' && !st?.isDirectory())) return;
    if (st?.isFile()) {
      total.files++;
      total.bytes += Number(st.size);
    } else if (st?.isDirectory() && verdict === 'keep') {
      const base = path.equals(SLASH) ? Buffer.alloc(0) : path;
      const keep = selection.keeps(path);
      try {
        for (const name of dirNames(path, st.size)) if (keep(name)) await visit(Buffer.concat([base, SLASH, Buffer.from(name, 'latin1')]), st.dev);
      } catch {
        // unreadable: counts nothing, as the backup reads nothing there
      }
    }
  };
  for (const p of paths) await visit(typeof p === 'string' ? Buffer.from(resolve(p)) : p, undefined);
  total.done = !opts.signal?.aborted;
  return total;
}

function lstatOrNot(path: Buffer): BigIntStats | undefined {
  try {
    return lstatSync(path, { bigint: true });
  } catch {
    return undefined;
  }
}
