/**
 * Reading S3's archive state (thaw.ts): which HEAD answers mean "readable",
 * "being restored" or "archived", and the restore settings' defaults and
 * refusals. The requests themselves are tested in test/s3/thaw.test.ts.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { EbakError } from '../../src/errors.js';
import { readiness, restoreSettings, thaw } from '../../src/storage/s3/thaw.js';

it('readiness: archive classes need a finished restore; other classes read at once', () => {
  const cases: [Parameters<typeof readiness>[0], ReturnType<typeof readiness>][] = [
    [{}, 'ready'],
    [{ storageClass: 'STANDARD_IA' }, 'ready'],
    [{ storageClass: 'GLACIER_IR' }, 'ready'],
    [{ storageClass: 'GLACIER' }, 'archived'],
    [{ storageClass: 'DEEP_ARCHIVE', restore: 'ongoing-request="true"' }, 'restoring'],
    [{ storageClass: 'DEEP_ARCHIVE', restore: 'ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"' }, 'ready'],
    [{ storageClass: 'GLACIER', restore: 'garbage' }, 'archived'],
  ];
  for (const [state, want] of cases) assert.equal(readiness(state), want, JSON.stringify(state));
});

it('restoreSettings: defaults, and bad values refused as USAGE', () => {
  assert.deepEqual(restoreSettings(), { days: 1, tier: 'Standard', pollMs: 300_000, timeoutMs: 48 * 3600_000 });
  assert.equal(restoreSettings({ tier: 'Expedited' }).pollMs, 60_000);
  for (const bad of [{ days: 0 }, { days: 1.5 }, { tier: 'Fast' as never }, { pollMs: -1 }, { timeoutMs: NaN }])
    assert.throws(() => restoreSettings(bad), (e: unknown) => e instanceof EbakError && e.code === 'USAGE', JSON.stringify(bad));
});

it('thaw: an aborted signal ends the wait for a restore at once (CANCELLED); the restore asked for stays asked', async () => {
  const asked: string[] = [];
  const ops = { head: async () => ({ storageClass: 'GLACIER' }), requestRestore: async (h: { name: string }) => void asked.push(h.name) };
  const ac = new AbortController();
  const t0 = Date.now();
  setTimeout(() => ac.abort(), 50);
  const e = await thaw(ops, [{ type: 'data', name: 'ab'.repeat(32) }], restoreSettings({ pollMs: 600_000 }), undefined, ac.signal).catch((x: unknown) => x);
  assert.ok(e instanceof EbakError && e.code === 'CANCELLED', String(e));
  assert.ok(Date.now() - t0 < 5000, `stopped in ${Date.now() - t0} ms`);
  assert.deepEqual(asked, ['ab'.repeat(32)]);
});
