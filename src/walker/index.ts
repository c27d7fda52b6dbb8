/**
 * The one walk over a snapshot's trees (restic's `walker`): depth-first, in
 * each tree's order (names are sorted when trees are decoded), with the path
 * of every node ("/work/a.txt", as `ebak ls` prints it). A visitor sees each
 * tree id before it is read and each node before the walk descends into it,
 * and may skip a subtree or stop the walk. ls, find, check, the restorer's
 * planning and prune's used-blob set are visitors.
 *
 * A split directory (tree format 3) is read one part at a time: the visitor
 * sees the root's id, then each part's id (at the same path) before that
 * part is read, so a walk holds one part of a directory decoded, and a
 * part that several snapshots share can be skipped like a shared subtree
 * (its entries, and everything below them, are the same wherever it is).
 */
import type { TreeNode } from '../repository/format/tree.js';
import type { TreeLoader } from '../repository/api.js';
import { loadPart, loadTreeBlob } from '../repository/trees.js';
import type { TreeBlob } from '../repository/format/tree-split.js';

/** What a visitor returns: go on (nothing), leave this subtree unread, or end the walk. */
export type Step = void | 'skip' | 'stop';

export interface Visitor {
  /** Before tree `id` (at `path`, "" for the root) is loaded, and each part of a split one; "skip" leaves it unread. */
  tree?(id: string, path: string): Step | Promise<Step>;
  /** Each node of a loaded tree; "skip" on a directory leaves its subtree unread. */
  node?(path: string, node: TreeNode): Step | Promise<Step>;
  /**
   * A tree that could not be loaded. Without this hook the error is thrown;
   * with it, the walk goes on (or stops when it returns "stop").
   */
  treeError?(id: string, path: string, error: unknown): Step;
}

/** Walks the tree `rootId`, its nodes' paths starting with `base`; returns false when a visitor stopped it. */
export async function walk(trees: TreeLoader, rootId: string, visitor: Visitor, base = ''): Promise<boolean> {
  return (await walkTree(trees, rootId, base, visitor)) !== 'stop';
}

async function walkTree(trees: TreeLoader, id: string, path: string, v: Visitor): Promise<Step> {
  const blob = await load(id, path, v, () => loadTreeBlob(trees, id));
  if (blob === 'stop' || blob === undefined) return blob;
  if ('nodes' in blob) return walkNodes(trees, blob.nodes, path, v);
  for (let i = 0; i < blob.parts.length; i++) {
    const nodes = await load(blob.parts[i]!.id, path, v, () => loadPart(trees, blob.parts, i, id));
    if (nodes === 'stop' || (nodes && (await walkNodes(trees, nodes, path, v)) === 'stop')) return 'stop';
  }
  return undefined;
}

/** Asks the visitor before blob `id` is read, then reads it; undefined when it is skipped or unreadable (and the visitor goes on). */
async function load<T extends TreeBlob | TreeNode[]>(id: string, path: string, v: Visitor, read: () => Promise<T>): Promise<T | 'stop' | undefined> {
  const before = await v.tree?.(id, path);
  if (before) return before === 'stop' ? 'stop' : undefined;
  try {
    return await read();
  } catch (e) {
    if (!v.treeError) throw e;
    return v.treeError(id, path, e) === 'stop' ? 'stop' : undefined;
  }
}

async function walkNodes(trees: TreeLoader, nodes: readonly TreeNode[], path: string, v: Visitor): Promise<Step> {
  for (const node of nodes) {
    const nodePath = `${path}/${node.name}`;
    const step = await v.node?.(nodePath, node);
    if (step === 'stop') return 'stop';
    if (step === 'skip' || node.type !== 'dir') continue;
    if ((await walkTree(trees, node.subtree!, nodePath, v)) === 'stop') return 'stop';
  }
  return undefined;
}

/**
 * A visitor collecting every blob id the walked trees use, tree blobs
 * (and the parts of split directories) included: prune's keep set. A
 * subtree or part shared by several snapshots (or directories) is read once.
 */
export function usedBlobs(into = new Set<string>()): Visitor & { readonly blobs: Set<string> } {
  return {
    blobs: into,
    tree(id) {
      if (into.has(id)) return 'skip';
      into.add(id);
    },
    node(_path, node) {
      for (const id of node.content ?? []) into.add(id);
    },
  };
}
