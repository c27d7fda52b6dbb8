/**
 * `ebak key rotate-master --rewrite` and the retention lock (local mode,
 * the real CLI): rewriting a snapshot replaces it (a new id) and removes the
 * old copy, so a snapshot under a legal hold is left as it is, named in one
 * warning, and the old keys stay; the others are rewritten. Once the hold is
 * released, `--resume --rewrite` rewrites it and drops the old keys.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { backupSummary, ebak, ebakOk, newRepo, tempDir } from './harness.js';

interface Rewrite { rewrite: { snapshots: number; old_keys_dropped: boolean; protected: { id: string; reason: string }[] } }

describe('rotate-master --rewrite under a retention hold', () => {
  it('leaves a held snapshot as it is (one warning, old keys kept), rewrites the rest, and finishes once released', async () => {
    const dir = await tempDir('ebak-rotret-');
    const { env } = await newRepo(dir);
    const src = join(dir, 'src');
    await mkdir(src);
    const ids: string[] = [];
    for (const text of ['one', 'two']) {
      await writeFile(join(src, 'f.txt'), text);
      ids.push((backupSummary(await ebakOk(['backup', src, '--json'], env)) as { snapshot_id: string }).snapshot_id);
    }
    const held = ids[0]!;
    await ebakOk(['retention', 'hold', 'add', held.slice(0, 8), '--reason', 'case 7'], env);

    const r = await ebak(['key', 'rotate-master', '--rewrite', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning: '));
    assert.deepEqual(warnings.filter((l) => l.includes(held.slice(0, 8))).length, 1, r.stderr);
    assert.match(warnings.find((l) => l.includes(held.slice(0, 8)))!, /protected \(legal hold.*not rewritten/);
    const out = JSON.parse(r.stdout) as Rewrite;
    assert.deepEqual([out.rewrite.snapshots, out.rewrite.old_keys_dropped, out.rewrite.protected.map((p) => p.id)], [1, false, [held]]);
    const after = (JSON.parse((await ebakOk(['snapshots', '--json'], env)).stdout) as { id: string; original?: string }[]);
    assert.ok(after.some((s) => s.id === held), 'the held snapshot is still there, under its id');
    assert.ok(after.some((s) => s.original === ids[1]), 'the other one was rewritten');
    assert.equal(after.length, 2, 'no copy of the held one was left beside it');

    await ebakOk(['retention', 'hold', 'remove', held.slice(0, 8)], env);
    const done = JSON.parse((await ebakOk(['key', 'rotate-master', '--resume', '--rewrite', '--json'], env)).stdout) as Rewrite;
    assert.deepEqual([done.rewrite.snapshots, done.rewrite.old_keys_dropped, done.rewrite.protected], [1, true, []]);
  });
});
