/**
 * `ebak prune`, `ebak unlock` and `forget --prune` through the real CLI:
 * with no other lock, prune frees the space at once (fewer packs, check
 * --read-data passes, every kept snapshot restores byte-identical, a
 * second prune finds nothing); --dry-run changes nothing; bad input and a
 * prune beside another prune (or an exclusive lock) fail with one line and
 * delete nothing; beside an older shared lock prune only marks, backups go
 * on, and the next prune deletes; unlock removes stale locks only, or all.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Repository } from '../../src/repository/repository.js';
import { openBackend } from '../../src/storage/open.js';
import { assertFailed, ebak, jsonError, repoFiles } from './harness.js';
import { assertWhole, backup, history, holdLock, repoListing, snapshotIds, type History } from './prune-fixture.js';

const SIZE = { backups: 5, files: 8, fileBytes: 1536 * 1024, changes: 3 };

interface Summary {
  packs_to_delete: string[];
  packs_to_repack: string[];
  packs_deleted: string[];
  packs_pending_deletion: number;
  freed: number;
}

async function pruneJson(h: History, ...args: string[]): Promise<Summary> {
  const r = await ebak(['prune', '--json', ...args], h.env);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Summary;
}

/** Forgets all but the newest `keep` snapshots. */
async function forgetAllBut(h: History, keep: number): Promise<void> {
  const r = await ebak(['forget', '--keep-last', String(keep)], h.env);
  assert.equal(r.code, 0, r.stderr);
  const kept = await snapshotIds(h.env);
  for (const id of h.digests.keys()) if (!kept.includes(id)) h.digests.delete(id);
}

describe('ebak prune', () => {
  it('frees the space at once when no other lock exists; the rest stays whole; a second prune finds nothing', async () => {
    const h = await history({ ...SIZE, seed: 1 });
    await forgetAllBut(h, 2);
    const before = (await repoFiles(h.env.EBAK_REPOSITORY!, 'data')).length;
    const plan = await pruneJson(h, '--dry-run');
    assert.ok(plan.packs_to_delete.length + plan.packs_to_repack.length > 0, 'there is something to prune');
    const s = await pruneJson(h);
    assert.deepEqual(s.packs_to_delete, plan.packs_to_delete, 'the dry run planned what prune did');
    assert.equal(s.packs_pending_deletion, 0);
    assert.deepEqual([...s.packs_deleted].sort(), [...plan.packs_to_delete, ...plan.packs_to_repack].sort());
    const after = await repoFiles(h.env.EBAK_REPOSITORY!, 'data');
    assert.ok(after.length < before, `${after.length} packs after, ${before} before`);
    for (const p of s.packs_deleted) assert.ok(!after.some((f) => f.endsWith(p)), `data/${p} is gone`);
    await assertWhole(h, 'after prune');
    const again = await pruneJson(h);
    assert.deepEqual([again.packs_to_delete, again.packs_to_repack, again.packs_deleted], [[], [], []]);
    assert.equal((await repoFiles(h.env.EBAK_REPOSITORY!, 'locks')).length, 0, 'prune released its lock');
  });

  it('--dry-run prints the plan and changes nothing; --max-unused unlimited repacks nothing', async () => {
    const h = await history({ ...SIZE, seed: 2 });
    await forgetAllBut(h, 1);
    const listing = await repoListing(h.env.EBAK_REPOSITORY!);
    const r = await ebak(['prune', '--dry-run'], h.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /to delete: +\d+ packs/);
    const dry = await pruneJson(h, '--dry-run', '--max-unused', 'unlimited');
    assert.deepEqual(dry.packs_to_repack, []);
    assert.ok(dry.freed > 0);
    assert.deepEqual(await repoListing(h.env.EBAK_REPOSITORY!), listing);
    const s = await pruneJson(h, '--max-unused', '0', '--max-repack-size', '1k');
    assert.deepEqual(s.packs_to_repack, [], 'no pack fits in 1 KiB of repacking');
    await assertWhole(h, 'after a prune limited to 1 KiB of repacking');
  });

  it('bad input and a prune beside another prune or an exclusive lock: one line, non-zero, nothing deleted', async () => {
    const h = await history({ ...SIZE, backups: 2, seed: 3 });
    await forgetAllBut(h, 1);
    const listing = await repoListing(h.env.EBAK_REPOSITORY!);
    for (const args of [['--max-unused', 'abc'], ['--max-unused', '100%'], ['--max-repack-size', 'x'], ['--max-unused'], ['extra'], ['--frobnicate']]) {
      const r = await ebak(['prune', ...args], h.env);
      assertFailed(r, 1);
      assert.equal(jsonError(await ebak(['prune', ...args, '--json'], h.env)).code, 'USAGE', args.join(' '));
    }
    for (const mode of ['prune', 'exclusive'] as const) {
      const held = await holdLock(h.env, mode);
      try {
        const r = await ebak(['prune'], h.env);
        assertFailed(r, 11);
        assert.equal(jsonError(await ebak(['prune', '--json'], h.env)).code, 'LOCKED');
      } finally {
        await held.release();
      }
    }
    assert.deepEqual(await repoListing(h.env.EBAK_REPOSITORY!), listing);
  });

  it('beside an older shared lock it marks and deletes nothing; backups go on; the next prune deletes', async () => {
    const h = await history({ ...SIZE, backups: 3, seed: 4 });
    await forgetAllBut(h, 1);
    const held = await holdLock(h.env, 'shared');
    let marked: Summary;
    try {
      const pruneHeld = await holdLock(h.env, 'prune');
      await backup(h); // a backup runs beside a prune lock
      await pruneHeld.release();
      const packs = (await repoListing(h.env.EBAK_REPOSITORY!)).filter((l) => l.startsWith('data/'));
      marked = await pruneJson(h);
      assert.deepEqual(marked.packs_deleted, []);
      assert.ok(marked.packs_pending_deletion > 0, 'the packs are marked, not deleted');
      const after = await repoListing(h.env.EBAK_REPOSITORY!);
      for (const l of packs) assert.ok(after.includes(l), `${l} is still stored`);
      await assertWhole(h, 'with packs marked for deletion');
      // A backup after the mark re-writes what it needs instead of leaning on marked packs.
      await backup(h);
      await assertWhole(h, 'a backup beside marked packs');
    } finally {
      await held.release();
    }
    const done = await pruneJson(h);
    assert.ok(done.packs_deleted.length > 0, 'the next prune deletes the marked packs');
    assert.equal(done.packs_pending_deletion, 0);
    await assertWhole(h, 'after the second prune');
  });

  it('forget --prune forgets, then prunes', async () => {
    const h = await history({ ...SIZE, backups: 3, seed: 5 });
    const before = (await repoFiles(h.env.EBAK_REPOSITORY!, 'data')).length;
    const r = await ebak(['forget', '--keep-last', '1', '--prune'], h.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /removed 2 snapshots[^]*removed \d+ packs/);
    const kept = await snapshotIds(h.env);
    for (const id of h.digests.keys()) if (!kept.includes(id)) h.digests.delete(id);
    assert.ok((await repoFiles(h.env.EBAK_REPOSITORY!, 'data')).length < before);
    await assertWhole(h, 'after forget --prune');
  });
});

describe('ebak unlock', () => {
  it('removes stale locks and leaves live ones; --remove-all removes every lock', async () => {
    const h = await history({ ...SIZE, backups: 1, files: 1, seed: 6 });
    const backend = await openBackend(h.env.EBAK_REPOSITORY!, {});
    try {
      const repo = await Repository.open(backend, { password: h.env.EBAK_PASSWORD! });
      const old = new Date(Date.now() - 3600_000).toISOString();
      const stale = await repo.saveObject('lock', Buffer.from(JSON.stringify({ time: old, hostname: 'elsewhere', username: 'u', pid: 1, exclusive: true })));
      const live = await repo.lock('shared', () => undefined);
      const r = await ebak(['unlock', '--json'], h.env);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual((JSON.parse(r.stdout) as { removed: string[] }).removed, [stale]);
      assert.deepEqual((await repoFiles(h.env.EBAK_REPOSITORY!, 'locks')).map((p) => p.slice(-64)), [live.id()]);
      assertFailed(await ebak(['unlock', 'x'], h.env), 1);
      const all = await ebak(['unlock', '--remove-all'], h.env);
      assert.equal(all.code, 0, all.stderr);
      assert.deepEqual(await repoFiles(h.env.EBAK_REPOSITORY!, 'locks'), []);
      await live.release();
    } finally {
      await backend.close();
    }
  });
});
