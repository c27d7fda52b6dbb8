/**
 * File-system failures as typed errors, for every module that touches the
 * local file system (the local backend, archiver, restorer, secret files):
 * one mapping of Node's errno codes to EbakError codes, so "missing", "disk
 * full" and "permission denied" read and exit the same everywhere.
 */
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { EbakError } from '../errors.js';

/** `what` names the path or the operation; the message starts with it. */
export function mapIoError(e: unknown, what: string): EbakError {
  if (e instanceof EbakError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new EbakError('NOT_FOUND', `${what} does not exist`, { cause: e });
  if (code === 'ENOSPC' || code === 'EDQUOT')
    return new EbakError('NO_SPACE', `${what}: no space left on device`, { cause: e, hint: 'free some space and run the command again; nothing was lost' });
  if (code === 'EACCES' || code === 'EPERM') return new EbakError('IO', `${what}: permission denied`, { cause: e });
  return new EbakError('IO', `${what}: ${(e as Error).message}`, { cause: e });
}

/** Runs `fn` and maps whatever it throws with mapIoError. */
export async function wrapIo<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw mapIoError(e, what);
  }
}

/**
 * `mkdir -p`, written out: Node's own `{ recursive: true }` loops forever
 * where a parent exists but refuses children with ENOENT (/proc, some FUSE
 * mounts: `ebak init -r /proc/x` spun at full CPU). Each level is tried
 * once; a failure is a typed error naming `path`.
 */
export async function makeDirs(path: string, mode = 0o777): Promise<void> {
  try {
    await mkdir(path, { mode });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if ((await stat(path)).isDirectory()) return;
      throw new EbakError('IO', `${path} exists and is not a directory`, { cause: e });
    }
    const parent = dirname(path);
    if (code !== 'ENOENT' || parent === path) throw mapIoError(e, `create ${path}`);
    await makeDirs(parent, mode);
    await mkdir(path, { mode }).catch((again: unknown) => {
      const why = (again as NodeJS.ErrnoException).code;
      if (why === 'EEXIST') return;
      if (why === 'ENOENT') throw new EbakError('IO', `cannot create ${path}: ${parent} does not accept new directories`, { cause: again });
      throw mapIoError(again, `create ${path}`);
    });
  }
}

/** Writes `data` to `path.tmp` (mode `mode`), then renames it onto `path`: a reader sees the old file or the new one, never half of one. */
export async function replaceFile(path: string, data: Uint8Array, mode: number): Promise<void> {
  const tmp = `${path}.tmp`;
  await wrapIo(`write ${tmp}`, () => writeFile(tmp, data, { mode }));
  await wrapIo(`rename ${tmp} to ${path}`, () => rename(tmp, path));
}
