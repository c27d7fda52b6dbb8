/**
 * Tree loads ahead of the restore walk: while the walk is at one entry of
 * a directory, the trees of the next few subdirectories it will enter are
 * already being read, so the walk (and the pack writer's planning behind
 * it) rarely waits on a tree read, on S3 a GET per directory. The window
 * moves with the walk's own iteration, AHEAD subdirectories per directory
 * being walked, so what is held is bounded by AHEAD times the depth, and a
 * tree read ahead that the walk then passes by (a directory skipped) is
 * dropped as it passes. The entries come out in the tree's order, as
 * dirEntries gives them.
 */
import type { TreeLoader } from '../repository/api.js';
import type { TreeNode } from '../repository/format/tree.js';
import type { TreeBlob } from '../repository/format/tree-split.js';
import { dirParts, loadTreeBlob } from '../repository/trees.js';

/** Subdirectories read ahead per directory being walked. */
const AHEAD = 4;

export class TreePrefetch implements TreeLoader {
  /** Trees being read or read, not yet taken, by id. */
  private readonly ahead = new Map<string, Promise<TreeBlob>>();

  /** `enters(rel)`: whether the walk goes into the directory at `rel` (its tree is worth reading ahead). */
  constructor(private readonly trees: TreeLoader, private readonly enters: (rel: string) => boolean) {}

  loadTree(id: string): Promise<TreeNode[]> {
    return this.trees.loadTree(id);
  }

  /** The tree read ahead, taken (a second directory with the same tree reads it again), or read now. */
  loadTreeBlob(id: string): Promise<TreeBlob> {
    const early = this.ahead.get(id);
    this.ahead.delete(id);
    return early ?? loadTreeBlob(this.trees, id);
  }

  /**
   * Directory `id` (at `rel`)'s entries in order, a part (a tree blob) at a time, the trees of the next
   * AHEAD subdirectories it enters being read meanwhile. Within a part the entries come synchronously:
   * an async step per entry (a promise and a turn of the microtask queue each) was a third of the
   * restore walk's garbage.
   */
  async *parts(id: string, rel: string): AsyncGenerator<Iterable<TreeNode>> {
    for await (const { nodes } of dirParts(this, id)) yield this.within(nodes, rel);
  }

  private *within(nodes: readonly TreeNode[], rel: string): Generator<TreeNode> {
    const started: number[] = []; // indices of the subdirectories read ahead, not yet passed
    let scan = 0;
    for (let i = 0; i < nodes.length; i++) {
      for (; scan < nodes.length && started.length < AHEAD; scan++) if (this.start(nodes[scan]!, rel)) started.push(scan);
      yield nodes[i]!;
      if (started[0] === i) this.pass(nodes[started.shift()!]!);
    }
  }

  /** Starts reading `n`'s tree if the walk will enter it; whether it did. */
  private start(n: TreeNode, rel: string): boolean {
    if (n.type !== 'dir' || !n.subtree || !this.enters(`${rel}/${n.name}`)) return false;
    if (!this.ahead.has(n.subtree)) {
      const p = loadTreeBlob(this.trees, n.subtree);
      p.catch(() => undefined); // the walk meets the failure when it takes the tree (if it does)
      this.ahead.set(n.subtree, p);
    }
    return true;
  }

  /** The walk is past `n`: its tree, if it was not taken, is dropped. */
  private pass(n: TreeNode): void {
    this.ahead.delete(n.subtree!);
  }
}
