/**
 * A quick pass over the source that only adds up file sizes, run beside the
 * backup so progress can show a percent and an ETA (as restic's scanner). It
 * uses asynchronous calls so it never holds up the backup's own walk, and
 * adds to `total` as it goes: the total grows while the walk proceeds, and
 * `done` says when it is final. Aborting `signal` stops it (the backup has
 * finished first). Names are
 * read as bytes, as the backup reads them, so none is missed for not being UTF-8.
 * It leaves out what the backup leaves out (exclude.ts's Selection).
 */
import { lstat, opendir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { BY_BYTES, Selection, type SelectOptions } from './exclude.js';

const SLASH = Buffer.from('/');

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
  const visit = async (path: Buffer, parentDev: bigint | undefined): Promise<void> => {
    const named = selection.byName(path.toString());
    if (opts.signal?.aborted || named === 'skip') return;
    const st = await lstat(path, { bigint: true }).catch(() => undefined);
    const verdict = st && selection.byStat(st, parentDev);
    if (verdict === 'skip' || (named === 'enter' && !st?.isDirectory())) return;
    if (st?.isFile()) {
      total.files++;
      total.bytes += Number(st.size);
    } else if (st?.isDirectory() && verdict === 'keep') {
      const base = path.equals(SLASH) ? Buffer.alloc(0) : path;
      const keep = selection.keeps(path);
      try {
        // Streamed: a directory of millions of entries is never listed whole.
        for await (const e of await opendir(path, BY_BYTES)) {
          const name = e.name as unknown as Buffer;
          if (keep(name)) await visit(Buffer.concat([base, SLASH, name]), st.dev);
        }
      } catch {
        // unreadable: counts nothing, as the backup reads nothing there
      }
    }
  };
  for (const p of paths) await visit(typeof p === 'string' ? Buffer.from(resolve(p)) : p, undefined);
  total.done = !opts.signal?.aborted;
  return total;
}
