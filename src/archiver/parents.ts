/**
 * A directory's entries in the parent snapshot, read beside the backup's
 * own walk of it: both go in name order, so each lookup moves one cursor
 * forward through the parent's tree, part by part (repository/trees.ts),
 * and a parent directory of millions of entries is never held whole. A
 * parent tree that cannot be read (or stops being readable part-way) is
 * reported once; its remaining entries count as absent, so those files are
 * read again.
 */
import type { TreeLoader } from '../repository/api.js';
import { nameKey, type TreeNode } from '../repository/format/tree.js';
import { dirEntries } from '../repository/trees.js';

export class ParentEntries {
  private readonly entries: AsyncGenerator<TreeNode> | undefined;
  private head: { key: string; node: TreeNode } | undefined;
  private started = false;

  /** `id`: the directory's tree in the parent snapshot (none: every lookup finds nothing). */
  constructor(trees: TreeLoader, id: string | undefined, private readonly onError: (e: Error) => void) {
    this.entries = id === undefined ? undefined : dirEntries(trees, id);
  }

  /** The parent's entry named `key` (name bytes as latin1); keys must come in increasing order. No promise when there is no parent tree. */
  find(key: string): Promise<TreeNode | undefined> | undefined {
    return this.entries && this.seek(key);
  }

  private async seek(key: string): Promise<TreeNode | undefined> {
    if (!this.started) {
      this.started = true;
      await this.advance();
    }
    while (this.head && this.head.key < key) await this.advance();
    return this.head?.key === key ? this.head.node : undefined;
  }

  private async advance(): Promise<void> {
    this.head = undefined;
    if (!this.entries) return;
    try {
      const next = await this.entries.next();
      if (!next.done) this.head = { key: nameKey(next.value), node: next.value };
    } catch (e) {
      this.onError(e as Error);
      await this.entries.return(undefined);
    }
  }
}
