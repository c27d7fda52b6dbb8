/**
 * Split directories (tree format 3, docs/format.md "Split directories"):
 * the vectors of test/vectors/trees-v3.json (written by the TreeWriter and
 * re-encoded to the same blobs; roots and mismatched parts refused with
 * their named code), the walker reading a split directory part by part, and
 * the writer's cut: content-defined, so one entry added rewrites a part or
 * two, not every part after it. The counts are asserted, so a missing file
 * tests nothing.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { TreeWriter } from '../../src/archiver/treewriter.js';
import { encodeTree, nameBytes, type TreeNode } from '../../src/repository/format/tree.js';
import { decodeTreeBlob } from '../../src/repository/format/tree-split.js';
import { walk } from '../../src/walker/index.js';
import { prng } from '../prng.js';
import { outcomeSync } from './vector-kit.js';
import { blobId, FILE, loaderOf, readOutcome, writtenTree, type TreeV3Vectors } from '../vectors/trees-v3-kit.js';

const v = JSON.parse(readFileSync(FILE, 'utf8')) as TreeV3Vectors;

describe('split directory vectors', () => {
  it('holds what docs/format.md lists', () => {
    assert.deepEqual([v.valid.length, v.roots.length, v.mismatched.length], [3, 20, 6]);
    assert.equal(v.roots.filter((r) => r.expect === 'UNSAFE_PATH').length, 3);
  });

  for (const d of v.valid) {
    it(`${d.name}: read whole in order; written again, the same blobs`, async () => {
      for (const [id, text] of Object.entries(d.blobs)) assert.equal(blobId(Buffer.from(text)), id);
      const nodes = await loaderOf(d.blobs).loadTree(d.tree);
      assert.deepEqual(nodes.map((n) => nameBytes(n).toString('hex')), d.names);
      assert.deepEqual(await writtenTree([...nodes].reverse(), d.limits), { tree: d.tree, blobs: d.blobs });
    });
  }

  for (const r of v.roots) it(`root: ${r.name} → ${r.expect}`, () => assert.equal(outcomeSync(() => decodeTreeBlob(Buffer.from(r.json), 'vector')), r.expect));
  for (const m of v.mismatched) it(`read whole: ${m.name} → ${m.expect}`, async () => assert.equal(await readOutcome(m.tree, m.blobs), m.expect));
});

describe('reading and writing split directories', () => {
  const d = v.valid[0]!;

  it('the walker sees the root, then each part before it is read; a part skipped leaves its entries unread', async () => {
    const root = decodeTreeBlob(Buffer.from(d.blobs[d.tree]!), 'v');
    assert.ok('parts' in root);
    const seen: string[] = [];
    const paths: string[] = [];
    await walk(loaderOf(d.blobs), d.tree, {
      tree(id) {
        seen.push(id);
        return id === root.parts[1]!.id ? 'skip' : undefined;
      },
      node: (path) => void paths.push(path),
    });
    assert.deepEqual(seen, [d.tree, ...root.parts.map((p) => p.id)]);
    assert.equal(paths.length, d.names.length - root.parts[1]!.count);
  });

  it('a part that cannot be read is reported through treeError and the walk goes on with the next', async () => {
    const root = decodeTreeBlob(Buffer.from(d.blobs[d.tree]!), 'v');
    assert.ok('parts' in root);
    const { [root.parts[0]!.id]: _gone, ...rest } = d.blobs;
    const errors: string[] = [];
    let nodes = 0;
    await walk(loaderOf(rest), d.tree, { node: () => void nodes++, treeError: (id) => void errors.push(id) });
    assert.deepEqual(errors, [root.parts[0]!.id]);
    assert.equal(nodes, d.names.length - root.parts[0]!.count);
  });

  it('entries must come in name order', async () => {
    const w = new TreeWriter(async () => 'x');
    await w.add(node('b'));
    await assert.rejects(async () => w.add(node('a')), (e: { code?: string }) => e.code === 'CORRUPT');
    await assert.rejects(async () => w.add(node('b')), (e: { code?: string }) => e.code === 'CORRUPT');
  });

  it('seeded random directories (seed 0x5e1): read back as written; within the limits exactly encodeTree; one entry added rewrites at most 3 parts', async () => {
    const random = prng(0x5e1);
    const int = (n: number) => Math.floor(random() * n);
    const limits = { entries: 10, bytes: 1 << 20 };
    for (let round = 0; round < 20; round++) {
      const names = new Set<string>();
      const count = int(40 * limits.entries);
      while (names.size < count) names.add(`n${int(1e6)}`);
      const nodes = [...names].map(node);
      const { tree, blobs } = await writtenTree(nodes, limits);
      const back = await loaderOf(blobs).loadTree(tree);
      assert.deepEqual(back.map((n) => n.name), [...names].sort());
      if (count <= limits.entries) assert.equal(blobs[tree], encodeTree(nodes).toString());
      const added = await writtenTree([...nodes, node(`n${int(1e6)}x`)], limits);
      const parts = (t: { tree: string; blobs: Record<string, string> }) => {
        const blob = decodeTreeBlob(Buffer.from(t.blobs[t.tree]!), 'v');
        return 'parts' in blob ? blob.parts.map((p) => p.id) : [t.tree];
      };
      const before = new Set(parts({ tree, blobs }));
      assert.ok(parts(added).filter((id) => !before.has(id)).length <= 3, `round ${round}`);
    }
  });
});

function node(name: string): TreeNode {
  return { name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: '1', ctime: '1', inode: '1', dev: '1', links: 1, size: 0, content: [] };
}
