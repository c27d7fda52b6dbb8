/**
 * `ebak retention` in local mode through the real CLI (the clock set with
 * EBAK_TEST_NOW, the snapshots' times with backup --time): a lock keeps
 * young snapshots in a policy run and says why, a named one is refused
 * (exit 1, RETENTION) with nothing removed; legal holds; bad input (max below
 * min, a hold on a missing snapshot, a frozen compliance lock shortened or
 * removed) is one line and changes nothing; check reports max-days; tag
 * and repair snapshots --forget remove no protected snapshot either.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertCode, assertFailed, backupSummary, ebak, ebakOk, fileDigests, newRepo, packKind, repoFiles, tempDir } from './harness.js';

const TIMES = ['2026-01-01T00:00:00.000Z', '2026-01-10T00:00:00.000Z', '2026-01-20T00:00:00.000Z'];
const NOW = '2026-02-01T00:00:00.000Z';


/** A repository with one snapshot per time of TIMES; the clock at NOW. Returns env and ids oldest first. */
async function fixture(): Promise<{ env: Record<string, string>; repo: string; ids: string[] }> {
  const dir = await tempDir('ebak-retention-');
  const { env: base } = await newRepo(dir);
  const env = { ...base, EBAK_TEST_NOW: NOW };
  const src = join(dir, 'src');
  await mkdir(src);
  const ids: string[] = [];
  for (const [i, time] of TIMES.entries()) {
    await writeFile(join(src, 'v.txt'), `version ${i}`);
    ids.push((backupSummary(await ebakOk(['backup', src, '--time', time, '--json'], env)) as { snapshot_id: string }).snapshot_id);
  }
  return { env, repo: base.EBAK_REPOSITORY!, ids };
}

const snapshotIds = async (env: Record<string, string>) => (JSON.parse((await ebakOk(['snapshots', '--json'], env)).stdout) as { id: string }[]).map((s) => s.id).sort();
const show = async (env: Record<string, string>) => JSON.parse((await ebakOk(['retention', 'show', '--json'], env)).stdout) as { lock: Record<string, unknown> | null; holds: { snapshot: string; reason: string }[]; enforced_by: string };

describe('retention lock and holds, local mode', { timeout: 300_000 }, () => {
  it('a policy run keeps what the lock protects and says why; a named snapshot is refused, nothing removed', async () => {
    const { env, ids } = await fixture();
    assert.deepEqual(await show(env), { lock: null, holds: [], enforced_by: 'client' });
    await ebakOk(['retention', 'lock', '--min-days', '30', '--max-days', '60'], env);
    const s = await show(env);
    assert.deepEqual(s.lock, { mode: 'governance', min_days: 30, max_days: 60, set_at: NOW, changeable_until: '2026-02-04T00:00:00.000Z' });

    const dry = await ebakOk(['forget', '--keep-last', '1', '--dry-run'], env);
    assert.match(dry.stdout, new RegExp(`keep +${ids[1]!.slice(0, 8)} .*\\(kept: retention lock until 2026-02-09T00:00:00Z\\)`));
    assert.match(dry.stdout, new RegExp(`remove +${ids[0]!.slice(0, 8)}`), 'older than 30 days: not protected');
    const json = JSON.parse((await ebakOk(['forget', '--keep-last', '1', '--dry-run', '--json'], env)).stdout) as { reasons: { snapshot: { id: string }; matches: string[] }[] }[];
    assert.deepEqual(json[0]!.reasons.find((r) => r.snapshot.id === ids[1])!.matches, ['kept: retention lock until 2026-02-09T00:00:00Z']);

    const before = await snapshotIds(env);
    assertFailed(await ebak(['forget', ids[2]!], env), 1, ids[2]!.slice(0, 8));
    assertCode(await ebak(['forget', ids[0]!, ids[1]!, '--json'], env), 1, 'RETENTION');
    assert.deepEqual(await snapshotIds(env), before, 'a refused forget removes nothing, not even the unprotected one named with it');

    await ebakOk(['forget', '--keep-last', '1'], env);
    assert.deepEqual(await snapshotIds(env), [ids[1]!, ids[2]!].sort(), 'only the unprotected one went');
    // Later, the lock no longer protects the middle one.
    await ebakOk(['forget', '--keep-last', '1'], { ...env, EBAK_TEST_NOW: '2026-02-10T00:00:00.000Z' });
    assert.deepEqual(await snapshotIds(env), [ids[2]!]);
  });

  it('legal holds: add, list, keep a snapshot past the lock, remove; a hold on a missing snapshot is one line', async () => {
    const { env, ids, repo } = await fixture();
    await ebakOk(['retention', 'hold', 'add', ids[0]!.slice(0, 10), '--reason', 'case 7 (litigation)'], env);
    const list = await ebakOk(['retention', 'hold', 'list'], env);
    assert.match(list.stdout, new RegExp(`${ids[0]!.slice(0, 8)} .*case 7 \\(litigation\\)`));
    assert.deepEqual((await show(env)).holds.map((h) => [h.snapshot, h.reason]), [[ids[0], 'case 7 (litigation)']]);

    const dry = await ebakOk(['forget', '--keep-last', '1', '--dry-run'], env);
    assert.match(dry.stdout, new RegExp(`keep +${ids[0]!.slice(0, 8)} .*\\(kept: legal hold: case 7 \\(litigation\\)\\)`));
    assertCode(await ebak(['forget', ids[0]!, '--json'], env), 1, 'RETENTION');

    const state = await fileDigests(repo);
    assertCode(await ebak(['retention', 'hold', 'add', 'abcdef12', '--reason', 'x', '--json'], env), 1, 'NOT_FOUND');
    assertCode(await ebak(['retention', 'hold', 'add', ids[1]!, '--json'], env), 1, 'USAGE');
    assertCode(await ebak(['retention', 'hold', 'remove', ids[1]!, '--json'], env), 1, 'NOT_FOUND');
    assert.deepEqual(await fileDigests(repo), state, 'refused changes write nothing');

    await ebakOk(['retention', 'hold', 'remove', ids[0]!.slice(0, 8)], env);
    assert.deepEqual((await show(env)).holds, []);
    await ebakOk(['forget', ids[0]!], env);
    assert.equal((await readdir(join(repo, 'retention'))).length, 1, 'one retention object: each change replaces the last');
  });

  it('bad locks: max below min, and a frozen compliance lock cannot be shortened or removed, only lengthened', async () => {
    const { env, repo } = await fixture();
    assertCode(await ebak(['retention', 'lock', '--min-days', '30', '--max-days', '10', '--json'], env), 1, 'USAGE');
    assertFailed(await ebak(['retention', 'lock', '--min-days', '30', '--max-days', '10'], env), 1, '--max-days');
    assertCode(await ebak(['retention', 'lock', '--json'], env), 1, 'USAGE');
    assert.equal((await show(env)).lock, null);

    // Governance: anyone with the key may shorten it (local mode, docs/retention.md).
    await ebakOk(['retention', 'lock', '--min-days', '30'], env);
    await ebakOk(['retention', 'lock', '--min-days', '10'], env);
    await ebakOk(['retention', 'lock', '--min-days', '20', '--mode', 'compliance', '--changeable-for-days', '0'], env);
    const state = await fileDigests(repo);
    assertCode(await ebak(['retention', 'lock', '--min-days', '10', '--mode', 'compliance', '--json'], env), 1, 'RETENTION');
    assertCode(await ebak(['retention', 'lock', '--min-days', '20', '--json'], env), 1, 'RETENTION');
    assertCode(await ebak(['retention', 'unlock', '--json'], env), 1, 'RETENTION');
    assertFailed(await ebak(['retention', 'unlock'], env), 1);
    assert.deepEqual(await fileDigests(repo), state);
    await ebakOk(['retention', 'lock', '--min-days', '40', '--max-days', '90', '--mode', 'compliance'], env);
    const lock = (await show(env)).lock!;
    assert.deepEqual([lock.min_days, lock.max_days, lock.changeable_until], [40, 90, NOW], 'lengthened; its dates kept');
  });

  it('check reports a snapshot older than max-days as a warning (exit 0)', async () => {
    const { env, ids } = await fixture();
    await ebakOk(['retention', 'lock', '--min-days', '5', '--max-days', '25'], env);
    const r = await ebakOk(['check'], env);
    const warnings = r.stderr.split('\n').filter((l) => l.includes('--max-days'));
    assert.equal(warnings.length, 1, r.stderr);
    assert.ok(warnings[0]!.includes(ids[0]!.slice(0, 8)));
    assert.equal(JSON.parse((await ebakOk(['check', '--json'], env)).stdout).warnings.length, 1);
  });

  it('tag refuses to replace a protected snapshot, and repair snapshots --forget keeps one beside its repaired copy', async () => {
    const { env, ids, repo } = await fixture();
    await ebakOk(['retention', 'hold', 'add', ids[0]!, '--reason', 'audit'], env);
    const held = await fileDigests(repo);
    assertCode(await ebak(['tag', ids[0]!, '--add', 'x', '--json'], env), 1, 'RETENTION');
    assert.deepEqual(await fileDigests(repo), held, 'a refused tag writes nothing');
    await ebakOk(['tag', ids[1]!, '--add', 'x'], env);
    await ebakOk(['retention', 'lock', '--min-days', '30'], env);
    const locked = await fileDigests(repo);
    assertCode(await ebak(['tag', '--add', 'y', '--json'], env), 1, 'RETENTION');
    assert.deepEqual(await fileDigests(repo), locked, 'nothing retagged, not even the unprotected ones');

    // The newest data pack holds only the last backup's file: without it, that (locked) snapshot needs repair.
    const data = [];
    for (const p of await repoFiles(repo, 'data')) if ((await packKind(p)) === 0) data.push({ p, t: (await stat(p)).mtimeMs });
    await rm(data.sort((a, b) => a.t - b.t).at(-1)!.p);
    await ebakOk(['repair', 'index'], env);
    const r = await ebakOk(['repair', 'snapshots', ids[2]!, '--forget', '--json'], env);
    const result = JSON.parse(r.stdout) as { repaired: { from: string; to: string }[]; removed: string[] };
    assert.deepEqual([result.repaired.map((x) => x.from), result.removed], [[ids[2]], []]);
    assert.match(r.stderr, new RegExp(`${ids[2]!.slice(0, 8)} is protected`));
    assert.ok((await snapshotIds(env)).includes(ids[2]!), 'the protected original is kept');
  });
});
