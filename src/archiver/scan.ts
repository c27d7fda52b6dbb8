/**
 * A quick pass over the source that only adds up file sizes, run beside the
 * backup on a terminal so progress can show an ETA (as restic does). It uses
 * asynchronous calls so it never holds up the backup's own walk.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { compileExcludes } from '../util/glob.js';

export interface ScanTotal {
  files: number;
  bytes: number;
}

export async function scan(paths: string[], excludes: string[] = []): Promise<ScanTotal> {
  const excluded = compileExcludes(excludes);
  const total: ScanTotal = { files: 0, bytes: 0 };
  const visit = async (path: string): Promise<void> => {
    if (excluded(path)) return;
    const st = await lstat(path).catch(() => undefined);
    if (st?.isFile()) {
      total.files++;
      total.bytes += st.size;
    } else if (st?.isDirectory()) {
      for (const name of await readdir(path).catch(() => [])) await visit(join(path, name));
    }
  };
  for (const p of paths) await visit(resolve(p));
  return total;
}
