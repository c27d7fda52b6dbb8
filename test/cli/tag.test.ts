/**
 * `ebak tag` through the real CLI: restic's --add/--remove/--set on named
 * snapshots or on what --host/--tag select; a changed snapshot gets a new id
 * whose `original` is the first id, the old object is gone, the data still
 * restores; an unchanged one is left alone; bad input changes nothing.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { assertCode, assertFailed, backupSummary, ebak, fileDigests, newRepo, repoFiles, tempDir } from './harness.js';

interface Listed {
  id: string;
  tags: string[];
  hostname: string;
  original?: string;
}

async function listed(env: Record<string, string>): Promise<Listed[]> {
  const r = await ebak(['snapshots', '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Listed[];
}

async function stored(env: Record<string, string>): Promise<string[]> {
  return (await repoFiles(env.EBAK_REPOSITORY!, 'snapshots')).map((p) => basename(p)).sort();
}

const dir = await tempDir('ebak-tag-');
const { env } = await newRepo(dir);
const src = join(dir, 'src');
await mkdir(src);
await writeFile(join(src, 'a.txt'), 'tagged data');
const ids: string[] = [];
for (const host of ['alpha', 'alpha', 'beta']) {
  const b = await ebak(['backup', src, '--host', host, '--tag', 'daily', '--json'], env);
  assert.equal(b.code, 0, b.stderr);
  ids.push((backupSummary(b) as { snapshot_id: string }).snapshot_id);
}

describe('ebak tag', () => {
  it('--add on a named snapshot rewrites it with restic\'s original field; the old object is gone and it restores', async () => {
    const r = await ebak(['tag', ids[0]!.slice(0, 8), '--add', 'keep,audit', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { changed: { old_snapshot_id: string; new_snapshot_id: string }[]; changed_snapshots: number };
    assert.equal(out.changed_snapshots, 1);
    assert.equal(out.changed[0]!.old_snapshot_id, ids[0]);
    const now = (await listed(env)).find((s) => s.id === out.changed[0]!.new_snapshot_id)!;
    assert.deepEqual(now.tags, ['daily', 'keep', 'audit']);
    assert.equal(now.original, ids[0]);
    assert.ok(!(await stored(env)).includes(ids[0]!), 'the old snapshot object is removed');
    const target = join(dir, 'restored');
    const rr = await ebak(['restore', now.id, '--target', target], env);
    assert.equal(rr.code, 0, rr.stderr);
    assert.deepEqual(await fileDigests(join(target, src)), await fileDigests(src));
    ids[0] = now.id;
    // Tagging again keeps the first id as original.
    const again = await ebak(['tag', now.id, '--remove', 'audit', '--json'], env);
    const second = (JSON.parse(again.stdout) as { changed: { new_snapshot_id: string }[] }).changed[0]!.new_snapshot_id;
    assert.equal((await listed(env)).find((s) => s.id === second)!.original, out.changed[0]!.old_snapshot_id);
    ids[0] = second;
  });

  it('--set with --host changes every snapshot of that host and leaves the others alone', async () => {
    const before = await listed(env);
    const r = await ebak(['tag', '--host', 'alpha', '--set', 'weekly', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { changed_snapshots: number }).changed_snapshots, 2);
    const after = await listed(env);
    assert.deepEqual(after.filter((s) => s.hostname === 'alpha').map((s) => s.tags), [['weekly'], ['weekly']]);
    const beta = (s: Listed[]) => s.filter((x) => x.hostname === 'beta');
    assert.deepEqual(beta(after), beta(before), 'beta untouched, same id');
    // Nothing to change: nothing rewritten.
    const same = await ebak(['tag', '--host', 'alpha', '--add', 'weekly', '--json'], env);
    assert.equal((JSON.parse(same.stdout) as { changed_snapshots: number }).changed_snapshots, 0);
    assert.deepEqual((await listed(env)).map((s) => s.id).sort(), after.map((s) => s.id).sort());
  });

  it('refuses a missing or contradictory change, and an unknown id, changing nothing', async () => {
    const before = await stored(env);
    assertFailed(await ebak(['tag', ids[2]!], env), 1, '--add');
    assertFailed(await ebak(['tag', ids[2]!, '--set', 'x', '--add', 'y'], env), 1, '--set');
    assertCode(await ebak(['tag', 'deadbeef', '--add', 'x', '--json'], env), 1, 'NOT_FOUND');
    assertFailed(await ebak(['tag', '--tag', 'nosuchtag', 'latest', '--add', 'x'], env), 1);
    assert.deepEqual(await stored(env), before);
  });
});

describe('ebak snapshots, restic\'s selection and grouping', () => {
  it('--latest N per host and paths, --group-by in restic\'s JSON groups, ids and --compact', async () => {
    const r = await ebak(['snapshots', '--latest', '1', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const latest = JSON.parse(r.stdout) as Listed[];
    assert.deepEqual(latest.map((s) => s.hostname).sort(), ['alpha', 'beta'], 'the newest of each host');
    const g = await ebak(['snapshots', '--group-by', 'host', '--json'], env);
    const groups = JSON.parse(g.stdout) as { group_key: { hostname: string; paths: null; tags: null }; snapshots: Listed[] }[];
    assert.deepEqual(groups.map((x) => [x.group_key.hostname, x.group_key.paths, x.snapshots.length]), [['alpha', null, 2], ['beta', null, 1]]);
    const one = await ebak(['snapshots', ids[2]!.slice(0, 8), '--json'], env);
    assert.deepEqual((JSON.parse(one.stdout) as Listed[]).map((s) => s.id), [ids[2]]);
    const compact = await ebak(['snapshots', '--compact', '--host', 'beta'], env);
    assert.equal(compact.code, 0, compact.stderr);
    assert.match(compact.stdout, /^[0-9a-f]{8} {2}\S+ {2}beta {2}\S+\n1 snapshot\n$/);
    const full = await ebak(['snapshots', '--host', 'beta'], env);
    assert.match(full.stdout, / \d+ B\n1 snapshot\n$/, 'the size column');
    assertFailed(await ebak(['snapshots', '--latest', '0'], env), 1, '--latest');
  });
});
