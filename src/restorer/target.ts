/**
 * Writes into the restore target, never through a symlink: directories are
 * created or checked with lstat, files open with O_NOFOLLOW. File system
 * calls on files are synchronous: writes land in the page cache, and a libuv
 * round trip per call would cost more than the call (20,000 small files).
 *
 * Paths are Buffers: names are bytes (docs/format.md, "Tree"), and a name
 * that is not UTF-8 must reach the file system as it was recorded. setuid
 * and setgid bits are given back only by root (as tar does).
 *
 * Extended attributes are set after the owner (a chown clears a file
 * capability) and mode, before the times; `security.*` and `trusted.*` only
 * by root (src/util/xattr.ts). One not set is a problem reported for the
 * entry, never a reason to remove the file or stop the restore.
 */
import { chmodSync, chownSync, closeSync, constants, fchmodSync, fchownSync, ftruncateSync, futimesSync, lstatSync, mkdirSync, openSync, rmSync, utimesSync, writeSync } from 'node:fs';
import { EbakError, isEbakError } from '../errors.js';
import { nameBytes, type TreeNode } from '../repository/format/tree.js';
import { isAllZero } from '../util/buffers.js';
import { mapIoError } from '../util/fs.js';
import { writeXattrs } from '../util/xattr.js';

/** Only root may give restored entries their recorded owners. */
export const isRoot = process.getuid?.() === 0;

const SLASH = Buffer.from('/');

/** The path of entry `n` inside directory `dir`, with the name's exact bytes. */
export function childPath(dir: Buffer, n: TreeNode): Buffer {
  return Buffer.concat([dir, SLASH, nameBytes(n)]);
}

/** The mode to give a restored entry: without setuid/setgid unless restoring as root. */
export function restoredMode(mode: number): number {
  return isRoot ? mode : mode & ~0o6000;
}

/** Creates a directory, or accepts an existing one; anything else in its place (a symlink included) is refused. */
export function makeDir(path: Buffer): void {
  try {
    mkdirSync(path, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw mapIoError(e, `create ${path}`);
    const st = lstatSync(path);
    if (!st.isDirectory()) throw new EbakError('UNSAFE_PATH', `${path} exists and is not a directory (a symlink is never followed); remove it or restore elsewhere`);
  }
}

/**
 * A directory's owner, mode, extended attributes and times (set after its
 * children, which would change its times); attributes not set are one IO
 * error, thrown once the times are set.
 */
export function setDirMeta(path: Buffer, n: TreeNode): void {
  let problems: string[];
  try {
    if (isRoot) chownSync(path, n.uid, n.gid);
    chmodSync(path, restoredMode(n.mode));
    problems = restoreXattrs(path, true, n);
    utimesSync(path, nsToDate(n.mtime), nsToDate(n.mtime));
  } catch (e) {
    throw mapIoError(e, `set metadata of ${path}`);
  }
  if (problems.length) throw new EbakError('IO', problems.join('; '));
}

function restoreXattrs(path: Buffer, isDir: boolean, n: FileMeta): string[] {
  return n.xattrs ? writeXattrs(path, isDir, n.xattrs, isRoot) : [];
}

/** What a restored file is given once its contents are written. */
export type FileMeta = Pick<TreeNode, 'mode' | 'uid' | 'gid' | 'mtime' | 'xattrs'>;

/** A node's FileMeta alone (what a worker is sent). */
export function fileMeta(n: FileMeta): FileMeta {
  const { mode, uid, gid, mtime, xattrs } = n;
  return xattrs ? { mode, uid, gid, mtime, xattrs } : { mode, uid, gid, mtime };
}

/**
 * Writes a regular file of `size` bytes: `fill` writes its contents through
 * the `write` it is given. A file that cannot be completed is removed, so a
 * file on disk is always complete (and, as its blobs are, authentic).
 * Returns the extended attributes that could not be set, as messages.
 */
export async function writeTargetFile(path: Buffer, n: FileMeta, size: number, sparse: boolean, fill: (write: (data: Buffer, at: number) => void) => Promise<void>): Promise<string[]> {
  const fd = openTarget(path);
  let problems: string[];
  try {
    await fill((data, at) => writeAll(fd, data, at, path));
    problems = finishFile(fd, path, n, size, sparse);
  } catch (e) {
    abandonFile(fd, path);
    throw isEbakError(e) ? e : mapIoError(e, `write ${path}`);
  }
  closeSync(fd);
  return problems;
}

/**
 * Gives a written file its size, owner, mode, extended attributes and times; returns the attributes not set, as messages.
 * The file was created empty (O_TRUNC) and every byte written unless `sparse` left holes, so only then may its
 * end need setting (one syscall a file saved otherwise).
 */
export function finishFile(fd: number, path: Buffer, n: FileMeta, size: number, sparse: boolean): string[] {
  if (sparse) ftruncateSync(fd, size);
  if (isRoot) fchownSync(fd, n.uid, n.gid);
  fchmodSync(fd, restoredMode(n.mode));
  const problems = restoreXattrs(path, false, n);
  futimesSync(fd, nsToDate(n.mtime), nsToDate(n.mtime));
  return problems;
}

/** Closes and removes a file that cannot be completed: never leave a partial or unverified file behind. */
export function abandonFile(fd: number, path: Buffer): void {
  closeSync(fd);
  rmSync(path, { force: true });
}

/** Creates (or truncates) a regular file, refusing to follow a symlink at its place. */
export function openTarget(path: Buffer): number {
  try {
    return openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new EbakError('UNSAFE_PATH', `${path} exists as a symlink; refusing to write through it`);
    throw mapIoError(e, `create ${path}`);
  }
}

export function writeAll(fd: number, data: Buffer, at: number, path: Buffer): void {
  for (let done = 0; done < data.length; ) {
    const n = writeSync(fd, data, done, data.length - done, at + done);
    if (n === 0) throw new EbakError('IO', `${path}: write made no progress`);
    done += n;
  }
}

/** A file system block: holes are made of whole ones, aligned in the file. */
const BLOCK = 4096;

/** Writes `data` at file offset `at`; `sparse` (restic's --sparse): only its parts that are not whole zero blocks. */
export function writeData(write: (data: Buffer, at: number) => void, data: Buffer, at: number, sparse: boolean): void {
  if (!sparse) return write(data, at);
  let run = -1; // where the pending non-zero run starts in `data`
  for (let off = 0; off < data.length; ) {
    const end = Math.min(data.length, (Math.floor((at + off) / BLOCK) + 1) * BLOCK - at);
    const zero = isAllZero(data.subarray(off, end));
    if (!zero && run < 0) run = off;
    if (zero && run >= 0) {
      write(data.subarray(run, off), at + run);
      run = -1;
    }
    off = end;
  }
  if (run >= 0) write(data.subarray(run), at + run);
}

/** Nanosecond timestamps → what utimes takes: fractional seconds, or a Date before 1970. */
export function nsToDate(ns: string): number | Date {
  const v = BigInt(ns);
  // Node takes a negative number of seconds as "now"; a Date before 1970 it takes as given (to the millisecond).
  if (v < 0n) return new Date(Number(v / 1_000_000n));
  return Number(v / 1_000_000_000n) + Number(v % 1_000_000_000n) / 1e9;
}
