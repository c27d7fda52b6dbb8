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
 *
 * The trees of the next AHEAD subdirectories past the cursor are read ahead
 * (treeahead.ts): the walk enters the next one soon after the cursor reaches
 * it. One passed or left when the directory is done is dropped, so at most
 * AHEAD trees a directory level are held.
 */
import { nameKey, type TreeNode } from '../repository/format/tree.js';
import { dirParts, type DirPart } from '../repository/trees.js';
import type { TreeAhead } from './treeahead.js';

/** Subdirectories whose parent trees are read ahead of the cursor, a directory level. */
const AHEAD = 4;

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
  /** The subtrees read ahead and not yet passed (their node's index and id), and the next node to consider. */
  private wanted: { at: number; id: string }[] = [];
  private aheadAt = 0;
  whole: WholeTree | undefined;

  /** `id`: the directory's tree in the parent snapshot (none: every lookup finds nothing). */
  constructor(private readonly trees: TreeAhead, id: string | undefined, private readonly onError: (e: Error) => void) {
    this.parts = id === undefined ? undefined : dirParts(trees, id);
  }

  /** The directory is done: the subtrees read ahead and not taken are dropped. */
  close(): void {
    this.passed(Infinity);
  }

  /** The parent's entry named `key` (name bytes as latin1); keys must come in increasing order. A promise only when a part is to be read. */
  find(key: string): TreeNode | undefined | Promise<TreeNode | undefined> {
    if (!this.parts || (this.ended && this.at >= this.nodes.length)) return undefined;
    if (!this.started) return this.next().then(() => this.find(key));
    while (this.at < this.nodes.length && this.keys[this.at]! < key) this.at++;
    this.readAhead();
    if (this.at < this.nodes.length) return this.keys[this.at] === key ? this.nodes[this.at] : undefined;
    return this.ended ? undefined : this.next().then(() => this.find(key));
  }

  /** Drops the reads ahead for nodes before index `at`; then starts those of the next AHEAD subdirectories from the cursor on. */
  private readAhead(): void {
    this.passed(this.at);
    this.aheadAt = Math.max(this.aheadAt, this.at);
    while (this.wanted.length < AHEAD && this.aheadAt < this.nodes.length) {
      const node = this.nodes[this.aheadAt]!;
      if (node.type === 'dir' && node.subtree) {
        this.trees.want(node.subtree);
        this.wanted.push({ at: this.aheadAt, id: node.subtree });
      }
      this.aheadAt++;
    }
  }

  /** The reads ahead for nodes before index `at` are dropped (a directory the walk entered has taken its own already). */
  private passed(at: number): void {
    while (this.wanted.length > 0 && this.wanted[0]!.at < at) this.trees.drop(this.wanted.shift()!.id);
  }

  /** Reads the next part (none left: ended). */
  private async next(): Promise<void> {
    const first = !this.started;
    this.started = true;
    this.passed(Infinity);
    [this.nodes, this.keys, this.at, this.aheadAt] = [[], [], 0, 0];
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
