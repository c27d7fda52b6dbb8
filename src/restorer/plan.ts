/**
 * Restore planning: which paths a restore includes, and which data packs
 * the included files need (so archive storage can make them readable before
 * the first read). The trees read while planning are kept and handed to the
 * write pass once each, so planning costs no second read.
 */
import type { BlobIndex, TreeLoader } from '../repository/api.js';
import type { TreeNode } from '../repository/format/tree.js';
import { walk } from '../walker/index.js';

/** Snapshot paths ("/work/a.txt") to restore; everything when `includes` is not given. */
export function includedPaths(includes: string[] | undefined): (rel: string) => boolean {
  const paths = includes?.map((p) => '/' + p.split('/').filter(Boolean).join('/'));
  // Included if it lies on the way to, or under, an include path.
  return (rel) => !paths || paths.some((inc) => inc === rel || inc.startsWith(rel + '/') || rel.startsWith(inc + '/'));
}

/**
 * The data packs holding the wanted files under `rootId` (blobs missing from
 * the index are reported when their file is written), and a tree loader
 * that serves each tree read here once before reading again.
 */
export async function planReads(trees: TreeLoader, index: BlobIndex, rootId: string, wanted: (rel: string) => boolean): Promise<{ packs: string[]; trees: TreeLoader }> {
  const loaded = new Map<string, TreeNode[]>();
  const keeping: TreeLoader = {
    async loadTree(id) {
      const nodes = await trees.loadTree(id);
      loaded.set(id, nodes);
      return nodes;
    },
  };
  const packs = new Set<string>();
  await walk(keeping, rootId, {
    node(path, n) {
      if (!wanted(path)) return 'skip';
      for (const hex of n.content ?? []) {
        const loc = index.lookupBlob(Buffer.from(hex, 'hex'));
        if (loc) packs.add(loc.pack.id);
      }
    },
  });
  return { packs: [...packs], trees: handOnce(loaded, trees) };
}

/** Serves each kept tree once (then forgets it), and reads any other tree from `trees`. */
function handOnce(kept: Map<string, TreeNode[]>, trees: TreeLoader): TreeLoader {
  return {
    async loadTree(id) {
      const nodes = kept.get(id);
      kept.delete(id);
      return nodes ?? trees.loadTree(id);
    },
  };
}
