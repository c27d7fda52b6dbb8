/**
 * The one tree walk, over a real repository made by the CLI: depth-first in
 * sorted order with each node's path, subtrees skipped or the walk stopped
 * by the visitor, unreadable trees reported to it, and prune's used-blob set.
 */
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Repository } from '../../src/repository/repository.js';
import type { TreeNode } from '../../src/repository/format/tree.js';
import { openBackend } from '../../src/storage/open.js';
import { usedBlobs, walk } from '../../src/walker/index.js';
import { ebak, newRepo, tempDir } from '../cli/harness.js';

let repo: Repository;
/** The tree holding the backed-up `src` (snapshots hold full paths: it lies under the temporary directory's components). */
let root: string;
/** The snapshot's own root tree. */
let snapshotRoot: string;
let close: () => Promise<void>;
const dir = await tempDir('ebak-walker-');

before(async () => {
  const { env } = await newRepo(dir);
  const src = join(dir, 'src');
  for (const d of ['b/y', 'a', 'c']) await mkdir(join(src, d), { recursive: true });
  for (const f of ['b/y/deep.txt', 'b/x.txt', 'a/one.txt', 'top.txt', 'c/same.txt']) await writeFile(join(src, f), f);
  await writeFile(join(src, 'c/one.txt'), 'a/one.txt'); // a/one.txt's content: one data blob used twice
  const b = await ebak(['backup', src], env);
  assert.equal(b.code, 0, b.stderr);
  await rm(src, { recursive: true });
  const backend = await openBackend(env.EBAK_REPOSITORY!, {});
  repo = await Repository.open(backend, { password: env.EBAK_PASSWORD! });
  await repo.loadIndex();
  snapshotRoot = (await repo.findSnapshot('latest')).snapshot.tree;
  root = snapshotRoot;
  for (const name of dir.split('/').filter(Boolean)) root = (await repo.loadTree(root)).find((n) => n.name === name)!.subtree!;
  close = () => backend.close();
});
after(() => close());

const ALL = ['/src', '/src/a', '/src/a/one.txt', '/src/b', '/src/b/x.txt', '/src/b/y', '/src/b/y/deep.txt', '/src/c', '/src/c/one.txt', '/src/c/same.txt', '/src/top.txt'];

describe('walk', () => {
  it('visits every node depth-first, sorted, with its path; trees before they are read', async () => {
    const paths: string[] = [];
    const trees: string[] = [];
    assert.equal(await walk(repo, root, { tree: (_id, p) => void trees.push(p), node: (p) => void paths.push(p) }), true);
    assert.deepEqual(paths, ALL);
    assert.deepEqual(trees, ['', '/src', '/src/a', '/src/b', '/src/b/y', '/src/c']);
  });

  it('skips a subtree, and stops when asked', async () => {
    const skipped: string[] = [];
    await walk(repo, root, { node: (p) => (skipped.push(p), p === '/src/b' ? 'skip' : undefined) });
    assert.deepEqual(skipped, ALL.filter((p) => !p.startsWith('/src/b/')));
    const stopped: string[] = [];
    assert.equal(await walk(repo, root, { node: (p) => (stopped.push(p), p === '/src/b/x.txt' ? 'stop' : undefined) }), false);
    assert.deepEqual(stopped, ALL.slice(0, ALL.indexOf('/src/b/x.txt') + 1));
  });

  it('paths start at the base; an unreadable tree goes to treeError, or is thrown without it', async () => {
    const nodes: TreeNode[] = [];
    await walk(repo, root, { node: (_p, n) => void nodes.push(n) });
    const sub = nodes.find((n) => n.name === 'b')!.subtree!;
    const under: string[] = [];
    await walk(repo, sub, { node: (p) => void under.push(p) }, 'snapshots/x/src/b');
    assert.deepEqual(under, ['snapshots/x/src/b/x.txt', 'snapshots/x/src/b/y', 'snapshots/x/src/b/y/deep.txt']);
    const missing = 'ab'.repeat(32);
    await assert.rejects(walk(repo, missing, {}), { code: 'NOT_FOUND' });
    const failed: string[] = [];
    assert.equal(await walk(repo, missing, { treeError: (id, p, e) => void failed.push(`${id}@${p}:${(e as { code: string }).code}`) }), true);
    assert.deepEqual(failed, [`${missing}@:NOT_FOUND`]);
  });
});

describe('usedBlobs', () => {
  it('collects every tree and data blob the snapshot uses: all a fresh repository holds', async () => {
    const used = usedBlobs();
    await walk(repo, snapshotRoot, used);
    assert.equal(used.blobs.size, repo.blobCount());
    for (const id of used.blobs) assert.ok(repo.hasBlob(Buffer.from(id, 'hex')), id);
    const trees: string[] = [];
    await walk(repo, snapshotRoot, { ...usedBlobs(new Set(used.blobs)), node: (p) => void trees.push(p) });
    assert.deepEqual(trees, [], 'trees already collected are not read again');
  });
});
