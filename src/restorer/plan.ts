/**
 * Restore planning: which paths a restore includes (RestoreFilter), and which data packs
 * the included files need (so archive storage can make them readable before
 * the first read). The trees read while planning are kept and handed to the
 * write pass once each, so planning costs no second read.
 */
import type { BlobIndex, TreeLoader } from '../repository/api.js';
import type { TreeBlob } from '../repository/format/tree-split.js';
import { loadTreeBlob } from '../repository/trees.js';
import { compileList, compilePattern, type Pattern, type PatternList } from '../util/glob.js';
import { walk } from '../walker/index.js';

/**
 * Which snapshot paths ("/home/u/work/a.txt") a restore takes: those an
 * include pattern matches (all when none is given), and the directories
 * leading to them, less those an exclude pattern matches (restic: include
 * and exclude are not given together). Patterns are globs (src/util/glob.ts),
 * read as lists: a `!pattern` takes back what an earlier one matched
 * (restic's filter.List). An excluded directory is entered when a `!pattern`
 * could re-include something below it.
 */
export class RestoreFilter {
  private readonly included: PatternList;
  /** The positive include patterns, each with whether it selected anything (unmatched() names the others). */
  private readonly includes: { text: string; pattern: Pattern; hit: boolean }[];
  private readonly excluded: PatternList;

  constructor(includes: readonly string[] = [], excludes: readonly string[] = []) {
    this.included = compileList(includes);
    this.includes = includes.filter((t) => !t.startsWith('!')).map((text) => ({ text, pattern: compilePattern(text), hit: false }));
    this.excluded = compileList(excludes);
  }

  /** Whether the restore writes the entry at `rel` (a directory: or walks into it); records the includes it meets. */
  visits(rel: string, isDir: boolean): boolean {
    if (this.excluded.matches(rel)) return isDir && this.excluded.negationBelow(rel);
    if (this.includes.length === 0) return true;
    if (this.selects(rel)) return true;
    return isDir && this.included.mayContain(rel);
  }

  /** Whether an entry at `rel` that the snapshot lacks is in what is restored (so --delete removes it). */
  covers(rel: string): boolean {
    return !this.excluded.matches(rel) && (this.includes.length === 0 || this.included.matches(rel));
  }

  /** The include patterns that matched nothing. */
  unmatched(): string[] {
    return this.includes.filter((i) => !i.hit).map((i) => i.text);
  }

  private selects(rel: string): boolean {
    if (!this.included.matches(rel)) return false;
    for (const i of this.includes) if (i.pattern.matches(rel)) i.hit = true;
    return true;
  }
}

/**
 * The data packs holding the wanted files under `rootId` (blobs missing from
 * the index are reported when their file is written), and a tree loader
 * that serves each tree read here once before reading again. The parts of a
 * split directory are not kept (the write pass reads them again), so
 * planning never holds a large directory whole.
 */
export async function planReads(trees: TreeLoader, index: BlobIndex, rootId: string, filter: RestoreFilter): Promise<{ packs: string[]; trees: TreeLoader }> {
  const loaded = new Map<string, TreeBlob>();
  const parts = new Set<string>();
  const keeping: TreeLoader = {
    loadTree: (id) => trees.loadTree(id),
    async loadTreeBlob(id) {
      const blob = await loadTreeBlob(trees, id);
      if ('parts' in blob) for (const p of blob.parts) parts.add(p.id);
      if (!parts.has(id)) loaded.set(id, blob);
      return blob;
    },
  };
  const packs = new Set<string>();
  await walk(keeping, rootId, {
    node(path, n) {
      if (!filter.visits(path, n.type === 'dir')) return 'skip';
      for (const hex of n.content ?? []) {
        const loc = index.lookupBlob(Buffer.from(hex, 'hex'));
        if (loc) packs.add(loc.pack.id);
      }
    },
  });
  return { packs: [...packs], trees: handOnce(loaded, trees) };
}

/** Serves each kept tree blob once (then forgets it), and reads any other from `trees`. */
function handOnce(kept: Map<string, TreeBlob>, trees: TreeLoader): TreeLoader {
  return {
    loadTree: (id) => trees.loadTree(id),
    async loadTreeBlob(id) {
      const blob = kept.get(id);
      kept.delete(id);
      return blob ?? loadTreeBlob(trees, id);
    },
  };
}
