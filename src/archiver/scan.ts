/**
 * A quick pass over the source that only adds up file sizes, run beside the
 * backup on a terminal so progress can show an ETA (as restic does). It uses
 * asynchronous calls so it never holds up the backup's own walk. Names are
 * read as bytes, as the backup reads them, so none is missed for not being UTF-8.
 * It leaves out what the backup leaves out (exclude.ts's Selection).
 */
import { lstat, readdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Selection, type SelectOptions } from './exclude.js';

const SLASH = Buffer.from('/');

export interface ScanTotal {
  files: number;
  bytes: number;
}

export async function scan(paths: readonly (string | Buffer)[], select: SelectOptions = {}): Promise<ScanTotal> {
  const selection = new Selection(select);
  const total: ScanTotal = { files: 0, bytes: 0 };
  const visit = async (path: Buffer, parentDev: bigint | undefined): Promise<void> => {
    if (selection.byName(path.toString())) return;
    const st = await lstat(path, { bigint: true }).catch(() => undefined);
    const verdict = st && selection.byStat(st, parentDev);
    if (verdict === 'skip') return;
    if (st?.isFile()) {
      total.files++;
      total.bytes += Number(st.size);
    } else if (st?.isDirectory() && verdict === 'keep') {
      const base = path.equals(SLASH) ? Buffer.alloc(0) : path;
      const names = await readdir(path, { encoding: 'buffer' }).catch(() => []);
      for (const name of selection.names(path, names)) await visit(Buffer.concat([base, SLASH, name]), st.dev);
    }
  };
  for (const p of paths) await visit(typeof p === 'string' ? Buffer.from(resolve(p)) : p, undefined);
  return total;
}
