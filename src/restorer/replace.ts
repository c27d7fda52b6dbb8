/**
 * Replacing what a target already holds, for a restore run again into it:
 * the new entry is made under a fresh name in the same directory and renamed
 * over the old one, so the old one stays whole until the new one is, and a
 * symlink there is replaced, never written through. A directory in the way
 * of a non-directory is removed first (rename cannot replace it); removal
 * never follows symlinks (rm unlinks them).
 */
import { closeSync, constants, fchmodSync, fchownSync, futimesSync, lstatSync, openSync, renameSync, rmSync, type BigIntStats } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import type { TreeNode } from '../repository/format/tree.js';
import { mapIoError } from '../util/fs.js';
import { isRoot, nsToDate } from './target.js';

/** The entry at `path`, not followed; undefined when there is none. */
export function entryAt(path: Buffer): BigIntStats | undefined {
  try {
    return lstatSync(path, { bigint: true, throwIfNoEntry: false });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw mapIoError(e, `inspect ${path}`);
  }
}

/** Makes the replacement with `make(at)` and puts it in place of `there`, the entry now at `path`. */
export async function replaceEntry(path: Buffer, there: BigIntStats, make: (at: Buffer) => Promise<void>): Promise<void> {
  if (there.isDirectory()) {
    removeEntry(path);
    return make(path);
  }
  // In the same directory, so the rename is atomic (path bytes: the name need not be UTF-8).
  const temp = Buffer.concat([path.subarray(0, path.lastIndexOf(0x2f) + 1), Buffer.from(`.ebak-tmp-${randomBytes(8).toString('hex')}`)]);
  try {
    await make(temp);
    renameSync(temp, path);
  } catch (e) {
    rmSync(temp, { force: true });
    throw mapIoError(e, `replace ${path}`);
  }
}

/** Removes an entry and all it holds (a symlink itself, never what it points to). */
export function removeEntry(path: Buffer): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch (e) {
    throw mapIoError(e, `remove ${path}`);
  }
}

/** Lets the restore add to a directory already there (its recorded mode is set after its children). */
export async function openUp(path: Buffer, there: BigIntStats): Promise<void> {
  const mode = Number(there.mode & 0o7777n);
  if ((mode & 0o700) !== 0o700) await chmod(path, mode | 0o700).catch((e) => { throw mapIoError(e, `open up ${path}`); });
}

/**
 * Sets a kept file's owner (as root), mode and times through a descriptor
 * (O_NOFOLLOW: never through a symlink swapped in). False when the file
 * cannot be opened: the caller writes it anew instead.
 */
export function refreshFileMeta(path: Buffer, n: TreeNode): boolean {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return false;
  }
  try {
    if (isRoot) fchownSync(fd, n.uid, n.gid);
    fchmodSync(fd, n.mode);
    futimesSync(fd, nsToDate(n.mtime), nsToDate(n.mtime));
    return true;
  } catch (e) {
    throw mapIoError(e, `set metadata of ${path}`);
  } finally {
    closeSync(fd);
  }
}

/** Whether two entries are one inode (hard links to each other). */
export function sameInode(a: BigIntStats, b: BigIntStats | undefined): boolean {
  return b !== undefined && a.ino === b.ino && a.dev === b.dev;
}
