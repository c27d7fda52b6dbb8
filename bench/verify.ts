/**
 * Restore verification for the benchmarks: a manifest (path, size, SHA-256) of
 * every regular file in a tree, and a comparison that names the first difference.
 * Runs outside the timed sections.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

export interface ManifestEntry {
  /** Path relative to the tree root, '/'-separated. */
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

export function manifestDigest(entries: readonly ManifestEntry[]): string {
  const h = createHash('sha256');
  for (const e of entries) h.update(`${e.sha256} ${e.size} ${e.path}\n`);
  return h.digest('hex');
}

async function hashFile(path: string): Promise<{ size: number; sha256: string }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: h.digest('hex') };
}

/** Manifest of all regular files under root, sorted by path; other entry kinds are reported. */
export async function hashTree(root: string): Promise<{ entries: ManifestEntry[]; other: string[] }> {
  const entries: ManifestEntry[] = [];
  const other: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const d of await readdir(dir, { withFileTypes: true })) {
      const abs = join(dir, d.name);
      const rel = relative(root, abs).split(sep).join('/');
      if (d.isDirectory()) await walk(abs);
      else if (d.isFile()) entries.push({ path: rel, ...(await hashFile(abs)) });
      else other.push(rel);
    }
  };
  await walk(root);
  entries.sort((x, y) => (x.path < y.path ? -1 : 1));
  return { entries, other };
}

/** null when the trees are identical, else a one-line description of the first difference. */
export function compareManifests(expected: readonly ManifestEntry[], actual: readonly ManifestEntry[]): string | null {
  const got = new Map(actual.map((e) => [e.path, e]));
  for (const e of expected) {
    const a = got.get(e.path);
    if (!a) return `missing ${e.path}`;
    if (a.size !== e.size) return `${e.path}: size ${a.size}, expected ${e.size}`;
    if (a.sha256 !== e.sha256) return `${e.path}: content differs`;
    got.delete(e.path);
  }
  const extra = got.keys().next();
  return extra.done ? null : `unexpected file ${extra.value}`;
}
