/**
 * A snapshot's root tree holds the full source paths, as restic's does:
 * backing up /home/u/work gives the entries /home, /home/u (each with its
 * real metadata) and /home/u/work, so `ls latest /home/u/work` and
 * `restore --include /home/u/work/src` name what was backed up. Backing up
 * "/" makes its own tree the root. The previous build stored each backup
 * path as a top-level entry named by its base name (/home/u/work as /work):
 * such snapshots still list and restore as they were, and serve as parents.
 */
import { EbakError } from '../errors.js';
import type { TreeNode } from '../repository/format/tree.js';

/**
 * Path components down to each backup path: `true` marks a backup path, a
 * map the directories on the way. Names are their bytes as latin1 text (one
 * character a byte), so a name that is not UTF-8 keeps its bytes.
 */
export type SourceTree = Map<string, SourceTree | true>;

/** The backup paths (absolute, resolved bytes) as a tree; `true` when "/" itself is backed up. A path inside another is refused. */
export function sourceTree(targets: readonly Buffer[]): SourceTree | true {
  const unique = [...new Set(targets.map((t) => t.toString('latin1')))].sort();
  const text = (p: string) => Buffer.from(p, 'latin1').toString();
  for (const [i, p] of unique.entries()) {
    const outer = unique.slice(0, i).find((q) => q === '/' || p.startsWith(q + '/'));
    if (outer) throw new EbakError('USAGE', `backup path ${text(p)} lies inside ${text(outer)}, which already holds it; give ${text(outer)} alone`);
  }
  if (unique[0] === '/') return true;
  const root: SourceTree = new Map();
  for (const p of unique) {
    const parts = p.split('/').filter(Boolean);
    let level = root;
    for (const [i, name] of parts.entries()) {
      if (i === parts.length - 1) level.set(name, true);
      else {
        const next = level.get(name);
        level = next instanceof Map ? next : level.set(name, new Map()).get(name) as SourceTree;
      }
    }
  }
  return root;
}

/**
 * The top-level entries of a parent snapshot written by the previous build
 * (base names), by name; undefined when the parent holds full paths (where
 * both layouts agree, /work alone, it is read as full: the same entries).
 */
export function legacyEntries(parentPaths: readonly string[], rootNodes: readonly TreeNode[]): Map<string, TreeNode> | undefined {
  const key = (names: Iterable<string>) => JSON.stringify([...new Set(names)].sort());
  const names = key(rootNodes.map((n) => n.name));
  const asLegacy = key(parentPaths.map((p) => p.split('/').filter(Boolean).pop() ?? 'root'));
  const asFull = key(parentPaths.map((p) => p.split('/').filter(Boolean)[0] ?? ''));
  if (names !== asLegacy || names === asFull) return undefined;
  return new Map(rootNodes.map((n) => [n.name, n]));
}
