/**
 * What an unchanged re-backup records (archiver/treewriter.ts reuses a
 * parent's tree blob when every entry of it came back the same): in
 * process, on a real local repository and real files. A directory whose
 * entries are all unchanged keeps its parent's tree id and stores no tree;
 * any change below it (mtime, size, ctime alone, inode, an extended
 * attribute, an entry added or removed) gives a new tree (an unchanged
 * entry keeps its attributes, a changed one is recorded with its new ones), and every tree id
 * is the one a backup that reads every file (--force: no parent, every tree
 * encoded) gives for the same files. A parent tree whose only copy is in a
 * pack prune marked for deletion is stored again, never reused.
 */
import assert from 'node:assert/strict';
import { appendFile, chmod, copyFile, mkdir, readFile, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setAttributeSync } from '@napi-rs/xattr';
import { backup } from '../../src/operations/index.js';
import { BlobType } from '../../src/repository/format/pack.js';
import type { TreeNode } from '../../src/repository/format/tree.js';
import { tempDir } from '../cli/harness.js';
import { localRepository } from './fixture.js';

const dir = await tempDir('ebak-rebackup-');
const src = join(dir, 'src');
const deep = join(src, 'a', 'b');

describe('re-backup of unchanged and changed trees', () => {
  const t = localRepository(dir);

  /** The node of `path` (under the backed-up src) in snapshot tree `root`. */
  async function nodeAt(root: string, path: string): Promise<TreeNode> {
    let node: TreeNode | undefined;
    let tree = root;
    for (const name of path.split('/').filter(Boolean)) {
      node = (await t.repo.loadTree(tree)).find((n) => n.name === name);
      assert.ok(node, `${name} in the snapshot`);
      if (node.subtree) tree = node.subtree;
    }
    return node!;
  }

  /** A backup of src (parent: the last one, unless forced); the src directory's tree id and the trees stored. */
  async function backUp(force = false): Promise<{ tree: string; stored: number; root: string }> {
    const res = await backup(t.repo, t.pool, { paths: [src], force });
    return { tree: (await nodeAt(res.snapshot.tree, src)).subtree!, stored: res.summary.tree_blobs_added, root: res.snapshot.tree };
  }

  /** After `change`: the re-backup's src tree is new and is what a backup reading every file records. */
  async function changed(what: string, change: () => Promise<void>): Promise<string> {
    const before = await backUp();
    await change();
    const again = await backUp();
    assert.notEqual(again.tree, before.tree, `${what}: a new tree`);
    assert.equal((await backUp(true)).tree, again.tree, `${what}: the tree a backup reading every file records`);
    return again.root;
  }

  it('an unchanged tree keeps its id and stores no tree; a forced backup gives the same ids', async () => {
    await mkdir(deep, { recursive: true });
    for (const d of [src, join(src, 'a'), deep]) for (let i = 0; i < 5; i++) await writeFile(join(d, `f${i}`), `${d} ${i}`);
    await symlink('f0', join(deep, 'link'));
    const first = await backUp();
    const again = await backUp();
    assert.equal(again.tree, first.tree);
    // Only trees above src may be new (their directories' times change as other tests write to /tmp).
    assert.ok(again.stored <= src.split('/').filter(Boolean).length, 'no tree of src stored: the unchanged trees are the parent\'s');
    assert.equal((await backUp(true)).tree, first.tree);
  });

  it('each change below a directory gives it a new tree, the one a full read records', async () => {
    const file = join(deep, 'f1');
    const root = await changed('mtime', () => utimes(file, new Date(), new Date(Date.now() - 3_600_000)));
    assert.equal((await nodeAt(root, file)).mtime, String((await stat(file, { bigint: true })).mtimeNs));
    await changed('size', () => appendFile(file, 'more'));
    const { mtime, atime } = await stat(file);
    await changed('ctime alone (same size and mtime, other bytes)', async () => {
      await writeFile(file, (await readFile(file)).toString().toUpperCase());
      await utimes(file, atime, mtime);
    });
    await changed('ctime alone (mode set again)', () => chmod(file, 0o644));
    await changed('inode (same bytes, size and mtime)', async () => {
      await copyFile(file, `${file}.new`);
      await utimes(`${file}.new`, atime, mtime);
      await rename(`${file}.new`, file);
    });
    const attributed = await changed('an extended attribute', async () => setAttributeSync(file, 'user.ebak-test', Buffer.from('1')));
    const recorded = (root: string) => nodeAt(root, file).then((n) => n.xattrs?.map((x) => `${x.name}=${x.value}`));
    assert.deepEqual(await recorded(attributed), ['user.ebak-test=1']);
    assert.deepEqual(await recorded((await backUp()).root), ['user.ebak-test=1'], 'an unchanged file keeps its attributes');
    await changed('an extended attribute set again', async () => setAttributeSync(file, 'user.ebak-test', Buffer.from('2')));
    assert.deepEqual(await recorded((await backUp()).root), ['user.ebak-test=2'], 'the new value, read once the ctime moved');
    await changed('an extended attribute of a directory', async () => setAttributeSync(deep, 'user.ebak-dir', Buffer.from('d')));
    await changed('an entry added', () => writeFile(join(deep, 'f9'), 'new'));
    await changed('an entry removed', () => rm(join(deep, 'f0')));
  });

  it('a parent tree in a pack marked for deletion is stored again (same id), not reused', async () => {
    const first = await backup(t.repo, t.pool, { paths: [src] });
    // As prune's first phase: an index file marking the tree packs for deletion.
    const trees = t.repo.indexedPacks().filter((p) => p.kind === BlobType.tree);
    await t.repo.saveIndexFile({ packs: [], superseded: [], marked: await Promise.all(trees.map(async (p) => ({ ...(await t.repo.readPackHeader(p.id)), markedAt: 0 }))) });
    await t.repo.loadIndex();
    const again = await backup(t.repo, t.pool, { paths: [src] });
    assert.equal((await nodeAt(again.snapshot.tree, src)).subtree, (await nodeAt(first.snapshot.tree, src)).subtree);
    assert.equal(again.summary.tree_blobs_added, await treeCount(again.snapshot.tree), 'every tree of the snapshot stored again');
  });

  /** The distinct trees under `id`, itself included. */
  async function treeCount(id: string, seen = new Set<string>()): Promise<number> {
    seen.add(id);
    for (const n of await t.repo.loadTree(id)) if (n.subtree && !seen.has(n.subtree)) await treeCount(n.subtree, seen);
    return seen.size;
  }
});
