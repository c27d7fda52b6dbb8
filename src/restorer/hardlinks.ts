/**
 * Hard links within a snapshot are restored as hard links: the first link
 * of an inode (dev:inode as recorded) is written, later ones link to it. If
 * the first could not be written, the next one is written instead.
 */
import type { TreeNode } from '../repository/format/tree.js';

export class HardLinks {
  /** dev:inode → the path its first link was written to (undefined if that failed). */
  private readonly written = new Map<string, Promise<string | undefined>>();

  /**
   * For a file with other links: returns the path of an earlier link to link
   * to, or runs `write` (true when it wrote the file) and returns undefined.
   */
  async linkOrWrite(n: TreeNode, path: string, write: () => Promise<boolean>): Promise<string | undefined> {
    const key = `${n.dev}:${n.inode}`;
    const first = this.written.get(key);
    if (first) {
      const existing = await first;
      if (existing) return existing;
    }
    let done!: (p: string | undefined) => void;
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
