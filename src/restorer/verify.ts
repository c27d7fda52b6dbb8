/**
 * Whether a file in the target holds exactly a snapshot file's content:
 * read back blob by blob (each blob's length from the index), every piece's
 * keyed id compared with the recorded one. `restore --verify` asks it of
 * every file restored; `--overwrite always` asks it of a file already there,
 * so what is already right is not written again. The file opens with
 * O_NOFOLLOW and O_NONBLOCK (a symlink or a FIFO in its place is "not the
 * same", never followed, never waited on).
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import type { BlobIndex } from '../repository/api.js';
import type { TreeNode } from '../repository/format/tree.js';

/** The repository's keyed blob id (Repository.blobId). */
export interface BlobHasher {
  blobId(data: Uint8Array): Buffer;
}

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

export function sameContent(hasher: BlobHasher, index: BlobIndex, path: Buffer, n: TreeNode): boolean {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch {
    return false;
  }
  try {
    const st = fstatSync(fd);
    return st.isFile() && st.size === n.size && blobsMatch(hasher, index, fd, n.content ?? []);
  } finally {
    closeSync(fd);
  }
}

function blobsMatch(hasher: BlobHasher, index: BlobIndex, fd: number, content: readonly string[]): boolean {
  let at = 0;
  for (const hex of content) {
    const id = Buffer.from(hex, 'hex');
    const loc = index.lookupBlob(id);
    if (!loc) return false;
    const buf = Buffer.allocUnsafe(loc.rawLength);
    if (readFully(fd, buf, at) !== buf.length || !hasher.blobId(buf).equals(id)) return false;
    at += buf.length;
  }
  return true;
}

function readFully(fd: number, buf: Buffer, at: number): number {
  let done = 0;
  while (done < buf.length) {
    const n = readSync(fd, buf, done, buf.length - done, at + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}
