/**
 * A quick pass over the source that only adds up file sizes, run beside the
 * backup on a terminal so progress can show an ETA (as restic does). It uses
 * asynchronous calls so it never holds up the backup's own walk. Names are
 * read as bytes, as the backup reads them, so none is missed for not being UTF-8.
 */
import { lstat, readdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { compileExcludes } from '../util/glob.js';

const SLASH = Buffer.from('/');

export interface ScanTotal {
  files: number;
  bytes: number;
}

export async function scan(paths: string[], excludes: string[] = []): Promise<ScanTotal> {
  const excluded = compileExcludes(excludes);
  const total: ScanTotal = { files: 0, bytes: 0 };
  const visit = async (path: Buffer): Promise<void> => {
    if (excluded(path.toString())) return;
    const st = await lstat(path).catch(() => undefined);
    if (st?.isFile()) {
      total.files++;
      total.bytes += st.size;
    } else if (st?.isDirectory()) {
      const base = path.equals(SLASH) ? Buffer.alloc(0) : path;
      for (const name of await readdir(path, { encoding: 'buffer' }).catch(() => [])) await visit(Buffer.concat([base, SLASH, name]));
    }
  };
  for (const p of paths) await visit(Buffer.from(resolve(p)));
  return total;
}
