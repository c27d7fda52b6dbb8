/**
 * A directory's entries in the parent snapshot, read beside the backup's
 * own walk of it: both go in name order, so each lookup moves one cursor
 * forward through the parent's tree, part by part (repository/trees.ts),
 * and a parent directory of millions of entries is never held whole. A
 * lookup in a part already read is answered at once (no promise: an await
 * per entry was a tenth of an unchanged re-backup's main thread). A
 * parent tree that cannot be read (or stops being readable part-way) is
 * reported once; its remaining entries count as absent, so those files are
 * read again.
 *
 * `whole` says when the parent directory is one version-2 blob: a directory
 * whose entries all equal its entries there is that blob again (treewriter.ts).
 */
import type { TreeLoader } from '../repository/api.js';
import { nameKey, type TreeNode } from '../repository/format/tree.js';
import { dirParts, type DirPart } from '../repository/trees.js';

/** The parent's directory as one blob: its id, entry count and size. */
export interface WholeTree {
  id: string;
  count: number;
  bytes: number;
}

export class ParentEntries {
  private readonly parts: AsyncGenerator<DirPart> | undefined;
  private started = false;
  private ended = false;
  /** The part being read, its name keys, and the cursor in it. */
  private nodes: TreeNode[] = [];
  private keys: string[] = [];
  private at = 0;
  whole: WholeTree | undefined;

  /** `id`: the directory's tree in the parent snapshot (none: every lookup finds nothing). */
  constructor(trees: TreeLoader, id: string | undefined, private readonly onError: (e: Error) => void) {
    this.parts = id === undefined ? undefined : dirParts(trees, id);
  }

  /** The parent's entry named `key` (name bytes as latin1); keys must come in increasing order. A promise only when a part is to be read. */
  find(key: string): TreeNode | undefined | Promise<TreeNode | undefined> {
    if (!this.parts || (this.ended && this.at >= this.nodes.length)) return undefined;
    if (!this.started) return this.next().then(() => this.find(key));
    while (this.at < this.nodes.length && this.keys[this.at]! < key) this.at++;
    if (this.at < this.nodes.length) return this.keys[this.at] === key ? this.nodes[this.at] : undefined;
    return this.ended ? undefined : this.next().then(() => this.find(key));
  }

  /** Reads the next part (none left: ended). */
  private async next(): Promise<void> {
    const first = !this.started;
    this.started = true;
    [this.nodes, this.keys, this.at] = [[], [], 0];
    try {
      const part = await this.parts!.next();
      if (part.done) {
        this.ended = true;
        return;
      }
      [this.nodes, this.keys] = [part.value.nodes, part.value.nodes.map(nameKey)];
      if (first && part.value.whole) this.whole = { id: part.value.id, count: part.value.nodes.length, bytes: part.value.whole.bytes };
    } catch (e) {
      this.ended = true;
      this.whole = undefined;
      this.onError(e as Error);
      await this.parts!.return(undefined);
    }
  }
}
