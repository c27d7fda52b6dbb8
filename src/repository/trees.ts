/**
 * Reading a directory through any TreeLoader, part by part: a split
 * directory (tree-split.ts) is read one part at a time, each checked against
 * its root, so a reader of a directory of millions of entries holds one
 * part decoded, never the whole. The walker, the restorer, diff and the
 * archiver's parent lookups read directories through here; loadTree (whole)
 * joins the same parts.
 */
import { EbakError } from '../errors.js';
import { TREE_VERSION, type TreeNode } from './format/tree.js';
import { checkPart, type TreeBlob, type TreePart } from './format/tree-split.js';
import type { TreeLoader } from './api.js';

/** One part of a directory: the blob id and its entries (a whole directory is one part, its own id). */
export interface DirPart {
  id: string;
  nodes: TreeNode[];
  /** Set when the directory is this one blob, a version-2 list of `bytes` bytes (it can be reused as it is: archiver/treewriter.ts). */
  whole?: { bytes: number };
}

/** Tree blob `id` as stored (a loader without loadTreeBlob has whole directories only). */
export async function loadTreeBlob(trees: TreeLoader, id: string): Promise<TreeBlob> {
  return trees.loadTreeBlob ? trees.loadTreeBlob(id) : { nodes: await trees.loadTree(id) };
}

/** Part `i` of a split directory's `parts`, checked against the root. */
export async function loadPart(trees: TreeLoader, parts: readonly TreePart[], i: number, root: string): Promise<TreeNode[]> {
  const part = parts[i]!;
  const blob = await loadTreeBlob(trees, part.id);
  const what = `tree ${root.slice(0, 16)}`;
  if (!('nodes' in blob)) throw new EbakError('CORRUPT', `${what}: part ${part.id.slice(0, 16)} is itself a split directory's root`);
  checkPart(part, parts[i + 1], blob.nodes, what);
  return blob.nodes;
}

/** Directory `id`'s entries part by part, in order. */
export async function* dirParts(trees: TreeLoader, id: string): AsyncGenerator<DirPart> {
  const blob = await loadTreeBlob(trees, id);
  if ('nodes' in blob) {
    yield blob.version === TREE_VERSION && blob.bytes !== undefined ? { id, nodes: blob.nodes, whole: { bytes: blob.bytes } } : { id, nodes: blob.nodes };
    return;
  }
  for (let i = 0; i < blob.parts.length; i++) yield { id: blob.parts[i]!.id, nodes: await loadPart(trees, blob.parts, i, id) };
}

/** Directory `id`'s entries one by one, in order (one part decoded at a time). */
export async function* dirEntries(trees: TreeLoader, id: string): AsyncGenerator<TreeNode> {
  for await (const part of dirParts(trees, id)) yield* part.nodes;
}

/** Directory `id`'s entries, whole (for loadTree). */
export async function joinParts(trees: TreeLoader, id: string): Promise<TreeNode[]> {
  const out: TreeNode[] = [];
  for await (const part of dirParts(trees, id)) for (const n of part.nodes) out.push(n);
  return out;
}
