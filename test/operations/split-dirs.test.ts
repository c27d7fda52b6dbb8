/**
 * A directory too large for one tree blob (issue 14, item 14) is split into
 * parts (docs/format.md, "Split directories"). With the split limit lowered
 * to 1,000 entries, a directory of 5,000 files goes end to end: backup, a
 * second backup with entries changed in different parts (the parts not
 * touched are the same blobs), ls, diff, forget + prune of the first
 * snapshot, check --read-data, and a restore compared byte for byte. The
 * 2-million-entry run is scripts/bench-hugedir.sh.
 */
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { backup, check, restore } from '../../src/operations/index.js';
import type { TreePart } from '../../src/repository/format/tree-split.js';
import { Repository } from '../../src/repository/repository.js';
import { WorkerPool } from '../../src/repository/workers.js';
import { openBackend, type OpenedBackend } from '../../src/storage/open.js';
import { ebak, fileDigests, lsNodes, ndjson, newRepo, tempDir } from '../cli/harness.js';

const ENTRIES = 5000;
const SPLIT = { entries: 1000, bytes: 4 * 1024 * 1024 };
const dir = await tempDir('ebak-split-');
const src = join(dir, 'src');
const big = join(src, 'big');
const name = (i: number) => `f${String(i).padStart(5, '0')}`;
let env: Record<string, string>;
let backend: OpenedBackend;
let repo: Repository;
let pool: WorkerPool;

before(async () => {
  ({ env } = await newRepo(dir));
  await mkdir(big, { recursive: true });
  // Every tenth file has bytes of its own (a blob to restore and compare); the rest are empty.
  for (let i = 0; i < ENTRIES; i++) writeFileSync(join(big, name(i)), i % 10 ? '' : `${i}\n`);
  await writeFile(join(src, 'small.txt'), 'a small directory stays one tree\n');
  backend = await openBackend(env.EBAK_REPOSITORY!, {});
  repo = await Repository.open(backend, { password: env.EBAK_PASSWORD! });
  pool = new WorkerPool(1);
});
after(async () => {
  await pool.close();
  await backend.close();
});

/** The parts of the split directory `big` in snapshot `ref`. */
async function partsOf(ref: string): Promise<TreePart[]> {
  await repo.loadIndex();
  let tree = (await repo.findSnapshot(ref)).snapshot.tree;
  for (const c of big.split('/').filter(Boolean)) tree = (await repo.loadTree(tree)).find((n) => n.name === c)!.subtree!;
  const blob = await repo.loadTreeBlob(tree);
  assert.ok('parts' in blob, 'the large directory is split');
  return blob.parts;
}

/** The index of the entry in the middle of part `p`. */
const middle = (parts: TreePart[], p: number) => parts.slice(0, p).reduce((n, q) => n + q.count, 0) + Math.floor(parts[p]!.count / 2);

describe('split directories', () => {
  let first: string;
  let second: string;
  let changed: { modified: string; removed: string; added: string };

  it('backs up a directory past the limit as parts, sorted, each a run of its entries', async () => {
    first = (await backup(repo, pool, { paths: [src], treeSplit: SPLIT })).id;
    const parts = await partsOf(first);
    assert.ok(parts.length >= 3, `${parts.length} parts`);
    assert.equal(parts.reduce((n, p) => n + p.count, 0), ENTRIES);
    assert.ok(parts.every((p) => p.count >= SPLIT.entries / 2 || p === parts.at(-1)), 'no part but the last is under N/2');
    assert.ok(parts.every((p) => p.count <= 2 * SPLIT.entries));
    assert.equal(parts[0]!.first.toString(), name(0));
  });

  it('a second backup changes only the parts its changes fall in', async () => {
    const parts = await partsOf(first);
    changed = { modified: name(middle(parts, 0)), removed: name(middle(parts, parts.length - 1)), added: `${name(middle(parts, 1))}+` };
    await writeFile(join(big, changed.modified), 'changed, and longer than before\n');
    await rm(join(big, changed.removed));
    await writeFile(join(big, changed.added), 'new\n');
    const r = await backup(repo, pool, { paths: [src], treeSplit: SPLIT });
    second = r.id;
    assert.deepEqual([r.summary.files_new, r.summary.files_changed, r.summary.files_unmodified], [1, 1, ENTRIES - 2 + 1]);
    const now = await partsOf(second);
    const before = new Set(parts.map((p) => p.id));
    const shared = now.filter((p) => before.has(p.id)).length;
    assert.ok(shared >= now.length - 3 - 2 && shared >= 1, `${shared} of ${now.length} parts shared`);
  });

  it('ls lists every entry in order; diff names exactly the three changes', async () => {
    const ls = await ebak(['ls', second, big, '--json'], env);
    assert.equal(ls.code, 0, ls.stderr);
    const names = lsNodes(ls).map((e) => e.path).filter((p) => p.startsWith(`${big}/`)).map((p) => p.slice(big.length + 1));
    assert.equal(names.length, ENTRIES);
    assert.deepEqual(names, [...names].sort());
    assert.ok(names.includes(changed.added) && !names.includes(changed.removed));

    const diff = await ebak(['diff', first, second, '--json'], env);
    assert.equal(diff.code, 0, diff.stderr);
    const changes = ndjson<{ message_type: string; path: string; modifier: string }>(diff.stdout).filter((l) => l.message_type === 'change');
    assert.deepEqual(changes.map((c) => [c.modifier, c.path]).sort(), [
      ['+', `${big}/${changed.added}`], ['-', `${big}/${changed.removed}`], ['M', `${big}/${changed.modified}`],
    ].sort());
  });

  it('prune after forgetting the first snapshot keeps what the second needs; check --read-data passes; restore gives the bytes back', async () => {
    const forget = await ebak(['forget', first, '--prune'], env);
    assert.equal(forget.code, 0, forget.stderr);
    repo = await Repository.open(backend, { password: env.EBAK_PASSWORD! }); // the index as prune left it
    await repo.loadIndex();
    const checked = await check(repo, { readData: true });
    assert.deepEqual(checked.errors, []);
    const target = join(dir, 'out');
    const r = await restore(repo, repo.blobReader(pool), { snapshot: second, target });
    assert.deepEqual([r.files, r.errors], [ENTRIES + 1, 0]);
    assert.deepEqual(await fileDigests(join(target, src)), await fileDigests(src));
  });
});
