/**
 * Hard links within a snapshot are restored as hard links: the first link
 * of an inode (dev:inode as recorded) is written, later ones link to it. If
 * the first could not be written, the next one is written instead.
 *
 * Linking is only right when both names recorded the same file: a file that
 * changed between the backup's reads of its two names has two different
 * records under one inode, and linking the second to the first would drop
 * what was recorded for it. So names link only when their recorded content
 * and metadata are identical; a name whose record differs is written as its
 * own file (and later names identical to it link to it).
 */
import type { TreeNode } from '../repository/format/tree.js';

export class HardLinks {
  /** inode and record → the path its first link was written to (undefined if that failed). */
  private readonly written = new Map<string, Promise<Buffer | undefined>>();

  /**
   * For a file with other links: returns the path of an earlier link to link
   * to, or runs `write` (true when it wrote the file) and returns undefined.
   */
  async linkOrWrite(n: TreeNode, path: Buffer, write: () => Promise<boolean>): Promise<Buffer | undefined> {
    const key = linkKey(n);
    const first = this.written.get(key);
    if (first) {
      const existing = await first;
      if (existing) return existing;
    }
    let done!: (p: Buffer | undefined) => void;
    this.written.set(key, new Promise((r) => (done = r)));
    let ok = false;
    try {
      ok = await write();
    } finally {
      done(ok ? path : undefined);
    }
    return undefined;
  }
}

/** What a link shares with its inode: the recorded content and every restored attribute. */
function linkKey(n: TreeNode): string {
  const xattrs = (n.xattrs ?? []).map((x) => [x.name.toString('hex'), x.value.toString('hex')]);
  return JSON.stringify([n.dev, n.inode, n.size, n.content, n.mode, n.uid, n.gid, n.mtime, xattrs]);
}
