/**
 * What a backup tells about each file and directory it finishes (the
 * archiver's onFile and onDir; restic's per-item stats behind `backup --json
 * --verbose`'s verbose_status): whether it is new, changed or unchanged
 * against the parent snapshot, the bytes of its new blobs (restic's
 * data_size / metadata_size) and what they take in the repository once
 * compressed and encrypted (data_size_in_repo / metadata_size_in_repo).
 *
 * A blob's stored size is known only when a worker has sealed it, after the
 * walk moved on; an ItemTally waits for every blob of its item to be sealed
 * before the item is reported, so reports never hold the walk up.
 */
import { sameXattrs } from '../util/xattr.js';
import type { TreeNode } from '../repository/format/tree.js';

export type ItemStatus = 'new' | 'changed' | 'unchanged';

/** A directory the backup finished: its tree (and the parts of a split one) written. */
export interface DirDone {
  status: ItemStatus;
  /** Bytes of its tree blobs the repository did not hold yet. */
  added: number;
  /** Those blobs as stored (compressed and encrypted). */
  stored: number;
  ms: number;
}

/** The new blobs of one item: their plaintext bytes, and their stored bytes as each is sealed; `done` once all are. */
export class ItemTally {
  added = 0;
  private stored = 0;
  private waiting = 1; // the item itself, until `close`

  constructor(private readonly done: (t: { added: number; stored: number }) => void) {}

  /** A blob of `bytes` about to be added: the callback the blob writer calls when it is sealed. */
  expect(): (bytes: number) => void {
    this.waiting++;
    return (bytes) => {
      this.stored += bytes;
      this.settle();
    };
  }

  /** The blob `expect` was asked for was not queued (the repository held it). */
  unexpect(): void {
    this.settle();
  }

  /** The item has added its last blob. */
  close(): void {
    this.settle();
  }

  private settle(): void {
    if (--this.waiting === 0) this.done({ added: this.added, stored: this.stored });
  }
}

/** A directory's status against its node in the parent snapshot (restic: the nodes are equal, subtree included). */
export function dirStatus(prev: TreeNode | undefined, now: TreeNode): ItemStatus {
  if (!prev) return 'new';
  const same = prev.type === 'dir' && prev.subtree === now.subtree && prev.mode === now.mode && prev.uid === now.uid && prev.gid === now.gid &&
    prev.mtime === now.mtime && prev.ctime === now.ctime && prev.inode === now.inode && sameXattrs(prev.xattrs, now.xattrs);
  return same ? 'unchanged' : 'changed';
}
