/**
 * A live, changing source never breaks a backup (issue #14): a few backups
 * of a tree a churner keeps changing (test/cli/churn.ts); the long version
 * is scripts/soak-churn.sh.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { churnBackups } from './churn.js';
import { newRepo, tempDir } from './harness.js';

describe('backups of a tree that keeps changing', () => {
  it('every backup exits 0 or 3 and makes a snapshot; every snapshot restores and verifies; check --read-data passes', { timeout: 180_000 }, async () => {
    const dir = await tempDir();
    const { env } = await newRepo(dir);
    const seed = Number(process.env.EBAK_CHURN_SEED ?? 20261201);
    const r = await churnBackups({ dir, env, seed, backups: 4 });
    assert.equal(r.snapshots.length, 4);
    assert.ok(r.ops > 50, `the tree changed only ${r.ops} times during the backups`);
  });
});
