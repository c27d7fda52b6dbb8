/**
 * A drill's sample (src/plans/drill.ts, sampleFiles): N regular files of the
 * snapshot, each once; the same seed draws the same files, another seed
 * (another slot) others; asking for more than there are takes them all; a
 * name with a glob character still selects its file.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sampleFiles } from '../../src/plans/drill.js';
import type { TreeLoader } from '../../src/repository/api.js';
import type { NodeType, TreeNode } from '../../src/repository/format/tree.js';
import { compilePattern } from '../../src/util/glob.js';

const node = (name: string, type: NodeType, subtree?: string): TreeNode => ({
  name, type, mode: 0o644, uid: 0, gid: 0, mtime: '0', ctime: '0', inode: '0', dev: '0', links: 1, ...(subtree ? { subtree } : {}),
});
/** A root with 20 files, a symlink and a directory of 20 more (one named with a `*`). */
const TREES: Record<string, TreeNode[]> = {
  root: [...Array.from({ length: 20 }, (_, i) => node(`f${i}`, 'file')), node('link', 'symlink'), node('sub', 'dir', 'sub')],
  sub: [...Array.from({ length: 19 }, (_, i) => node(`g${i}`, 'file')), node('star*name', 'file')],
};
const trees: TreeLoader = { loadTree: async (id) => TREES[id]! };

describe('drill samples', () => {
  it('draws N distinct files, the same for the same seed', async () => {
    const a = await sampleFiles(trees, 'root', 5, 'plan@2024-01-01T00:00:00.000Z');
    assert.equal(a.length, 5);
    assert.equal(new Set(a).size, 5);
    assert.ok(a.every((p) => /^\/(f\d+|sub\/(g\d+|star\?name))$/.test(p)), a.join(' '));
    assert.deepEqual(await sampleFiles(trees, 'root', 5, 'plan@2024-01-01T00:00:00.000Z'), a);
    const others = await Promise.all(['b', 'c', 'd'].map((seed) => sampleFiles(trees, 'root', 5, seed)));
    assert.ok(others.some((o) => o.join() !== a.join()), 'another seed, another draw');
  });

  it('more than there are: every file, none twice; a glob character still selects its own file', async () => {
    const all = await sampleFiles(trees, 'root', 100, 's');
    assert.equal(all.length, 40);
    assert.equal(new Set(all).size, 40);
    const star = all.find((p) => p.startsWith('/sub/star'))!;
    assert.ok(compilePattern(star).matches('/sub/star*name'));
  });
});
