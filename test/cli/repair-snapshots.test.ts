/**
 * `ebak repair snapshots` (restic's, issue #14 item 12): after packs are
 * lost, `repair index` drops them from the index and `repair snapshots`
 * rewrites each snapshot to what is left — a file without its data keeps
 * what remains (here nothing), a directory whose tree is gone becomes empty,
 * a snapshot whose root tree is gone cannot be repaired (exit 3) — and the
 * repaired snapshot restores.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { backupSummary, ebak, newRepo, packKind, repoFiles, tempDir } from './harness.js';

async function packsOf(repo: string, kind: number): Promise<string[]> {
  const out: string[] = [];
  for (const p of await repoFiles(repo, 'data')) if ((await packKind(p)) === kind) out.push(p);
  return out;
}

describe('repair snapshots', () => {
  it('rewrites snapshots around lost packs; --dry-run changes nothing; --forget removes the damaged ones; the repaired one restores', async () => {
    const dir = await tempDir();
    const src = join(dir, 'src');
    await mkdir(join(src, 'keep'), { recursive: true });
    await writeFile(join(src, 'keep', 'a.txt'), 'kept\n');
    const { env } = await newRepo(dir);
    const repo = env.EBAK_REPOSITORY;
    const first = backupSummary(await ebak(['backup', src, '--json'], env)) as { snapshot_id: string };
    const [trees1, data1] = [await packsOf(repo, 1), await packsOf(repo, 0)];
    await mkdir(join(src, 'new'));
    await writeFile(join(src, 'new', 'b.bin'), randomBytes(100_000));
    const second = backupSummary(await ebak(['backup', src, '--json'], env)) as { snapshot_id: string };
    const data2 = (await packsOf(repo, 0)).filter((p) => !data1.includes(p));
    assert.ok(trees1.length > 0 && data2.length > 0);
    // Lost: the first backup's trees (keep/ and the first root) and the second backup's data (new/b.bin).
    for (const p of [...trees1, ...data2]) await rm(p);

    const idx = await ebak(['repair', 'index', '--json'], env);
    assert.equal(idx.code, 0, idx.stderr);
    assert.deepEqual(new Set((JSON.parse(idx.stdout) as { missing: string[] }).missing), new Set([...trees1, ...data2].map((p) => basename(p))));

    const before = (await readdir(join(repo, 'snapshots'))).sort();
    const dry = await ebak(['repair', 'snapshots', '--dry-run'], env);
    assert.equal(dry.code, 3, dry.stderr);
    assert.match(dry.stdout, /new\/b\.bin": removed missing content/);
    assert.match(dry.stdout, /keep": replaced with empty directory/);
    assert.deepEqual((await readdir(join(repo, 'snapshots'))).sort(), before, 'a dry run writes nothing');

    const r = await ebak(['repair', 'snapshots', '--forget', '--json'], env);
    assert.equal(r.code, 3, r.stderr);
    const result = JSON.parse(r.stdout) as { repaired: { from: string; to: string }[]; unrepairable: string[]; removed: string[] };
    assert.deepEqual(result.unrepairable, [first.snapshot_id]);
    assert.deepEqual(result.removed, [second.snapshot_id]);
    assert.equal(result.repaired.length, 1);
    const repaired = result.repaired[0]!.to;

    const again = await ebak(['repair', 'snapshots', repaired, '--json'], env);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as { unchanged: number }).unchanged, 1, 'a repaired snapshot has nothing left to repair');

    const out = join(dir, 'out');
    const restore = await ebak(['restore', repaired, '--target', out, '--verify'], env);
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal((await stat(join(out, src, 'new', 'b.bin'))).size, 0);
    assert.deepEqual(await readdir(join(out, src, 'keep')), []);
  });
});
