/**
 * Restoring FIFOs and device nodes (docs/format.md, "Tree"). Node has no
 * mknod(2) and no installed package offers one, so the node is made by
 * coreutils' `mknod` (execFile, no shell) at a fresh name in the restore
 * root, given its owner and times there, and renamed into place: a recorded
 * name need not be UTF-8, which a command-line argument cannot carry, and
 * rename never follows a symlink at its destination. Devices need root (the
 * kernel refuses anyone else), so without root they are reported, not made.
 * Sockets are recorded but not recreated (as restic): a socket belongs to the
 * process that listens on it.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { lchown, lutimes, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EbakError } from '../errors.js';
import type { TreeNode } from '../repository/format/tree.js';
import { mapIoError } from '../util/fs.js';
import { isRoot, nsToDate, restoredMode } from './target.js';

const run = promisify(execFile);

/** Makes the FIFO or device `n` at `path`; false for a socket (not recreated). */
export async function restoreSpecial(root: string, path: Buffer, n: TreeNode): Promise<boolean> {
  if (n.type === 'socket') return false;
  const device = n.type === 'chardev' || n.type === 'blockdev';
  if (device && !isRoot) throw new EbakError('IO', `${path}: device node not restored (only root can create devices)`);
  const tmp = join(root, `.ebak-special-${randomBytes(8).toString('hex')}`);
  try {
    const kind = n.type === 'fifo' ? ['p'] : [n.type === 'chardev' ? 'c' : 'b', ...majorMinor(BigInt(n.rdev!))];
    await run('mknod', ['-m', restoredMode(n.mode).toString(8), '--', tmp, ...kind]);
    if (isRoot) await lchown(tmp, n.uid, n.gid);
    await lutimes(tmp, nsToDate(n.mtime), nsToDate(n.mtime));
    await rename(tmp, path);
    return true;
  } catch (e) {
    rmSync(tmp, { force: true });
    const why = (e as { stderr?: string }).stderr?.trim();
    throw why ? new EbakError('IO', `create ${path}: ${why}`) : mapIoError(e, `create ${path}`);
  }
}

/** Linux's split of a dev_t into major and minor (glibc's gnu_dev_major/minor). */
function majorMinor(rdev: bigint): [string, string] {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return [major.toString(), minor.toString()];
}
