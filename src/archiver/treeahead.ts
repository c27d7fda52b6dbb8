/**
 * The parent snapshot's trees read ahead of the walk. The walk goes depth
 * first and asks for a directory's tree in the parent only when it gets
 * there; every such read is a round trip to the thread pool with the main
 * thread idle (~90 ms of an unchanged re-backup of 850-1,200 directories,
 * docs/benchmarks.md, rebfix). ParentEntries (parents.ts) asks here for the
 * trees of the next few subdirectories ahead of its cursor, and the walk
 * takes a tree already on its way instead of reading it again.
 *
 * A read ahead is the same read started earlier (through the repository, so
 * authenticated before it is parsed; a failure reaches the walk as its own
 * read's would). Nothing depends on it having happened: a tree dropped or
 * never asked for is read when the walk needs it.
 */
import type { TreeLoader } from '../repository/api.js';
import type { TreeNode } from '../repository/format/tree.js';
import type { TreeBlob } from '../repository/format/tree-split.js';
import { joinParts, loadTreeBlob } from '../repository/trees.js';

export class TreeAhead implements TreeLoader {
  /** Reads started and not yet taken, by tree id. */
  private readonly held = new Map<string, Promise<TreeBlob>>();

  constructor(private readonly trees: TreeLoader) {}

  /** Starts reading tree `id`, unless it is already on its way. */
  want(id: string): void {
    if (this.held.has(id)) return;
    const read = loadTreeBlob(this.trees, id);
    read.catch(ignore); // its taker sees the failure; a read never taken must not go unhandled
    this.held.set(id, read);
  }

  /** Forgets a read not taken (its directory is gone from the source, or was passed). */
  drop(id: string): void {
    this.held.delete(id);
  }

  /** Tree blob `id`: the read started ahead, when there is one, else a read now. */
  loadTreeBlob(id: string): Promise<TreeBlob> {
    const read = this.held.get(id);
    if (!read) return loadTreeBlob(this.trees, id);
    this.held.delete(id);
    return read;
  }

  loadTree(id: string): Promise<TreeNode[]> {
    return joinParts(this, id);
  }
}

const ignore = (): void => undefined;
