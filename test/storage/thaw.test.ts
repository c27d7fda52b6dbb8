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

/** Ops over `objects` (name → class), recording HEADs, restores asked and objects listed; no restore ever finishes. */
function listedOps(objects: Map<string, string>) {
  const seen = { heads: [] as string[], listed: 0, restores: [] as string[] };
  const ops = {
    head: async (h: { name: string }) => (seen.heads.push(h.name), { storageClass: objects.get(h.name) }),
    requestRestore: async (h: { name: string }) => void seen.restores.push(h.name),
    async *list() {
      for (const [name, storageClass] of objects) {
        seen.listed++;
        yield { name, storageClass };
      }
    },
  };
  return { ops, seen };
}

const names = (n: number, from = 0) => Array.from({ length: n }, (_, i) => (from + i).toString(16).padStart(64, '0'));
const handles = (ns: string[]) => ns.map((name) => ({ type: 'data' as const, name }));

it('thaw: many handles are classed from one listing; only an archived class (its restore state unknown) is HEADed', async () => {
  const objects = new Map(names(100).map((n, i) => [n, i === 7 ? 'DEEP_ARCHIVE' : i % 2 ? 'STANDARD_IA' : 'STANDARD']));
  const { ops, seen } = listedOps(objects);
  const wanted = names(20, 0);
  const e = await thaw(ops, handles(wanted), restoreSettings({ timeoutMs: 0 })).catch((x: unknown) => x);
  assert.ok(e instanceof EbakError && /1 of 1 archived/.test(e.message), String(e));
  assert.deepEqual(seen.heads, [wanted[7]], 'one HEAD: the archived pack');
  assert.deepEqual(seen.restores, [wanted[7]]);
  assert.equal(seen.listed, 20, 'the listing stops once every handle is seen');
});

it('thaw: a listing longer than the HEADs it saves is cut short; the handles it did not reach are HEADed', async () => {
  const { ops, seen } = listedOps(new Map(names(5000).map((n) => [n, 'STANDARD'])));
  const wanted = [...names(10, 0), ...names(10, 4990)];
  await thaw(ops, handles(wanted), restoreSettings());
  assert.equal(seen.listed, 20 * 80, 'at most 80 objects listed per handle');
  assert.deepEqual(seen.heads.sort(), names(10, 4990));
});

it('thaw: a few handles are HEADed, never listed (one LIST page would cost more than their HEADs)', async () => {
  const { ops, seen } = listedOps(new Map(names(100).map((n) => [n, 'STANDARD'])));
  await thaw(ops, handles(names(12)), restoreSettings());
  assert.equal(seen.listed, 0);
  assert.equal(seen.heads.length, 12);
});

it('thaw: given how to find the handles, a one-page listing with none archived needs neither the finding nor a HEAD', async () => {
  const { ops, seen } = listedOps(new Map(names(999).map((n) => [n, 'STANDARD_IA'])));
  let found = 0;
  await thaw(ops, { type: 'data', collect: async () => (found++, handles(names(3))) }, restoreSettings());
  assert.deepEqual([found, seen.heads.length, seen.listed], [0, 0, 999]);
});

it('thaw: given how to find the handles, an archived object or a listing past one page has them found; a one-page listing still classes them', async () => {
  for (const [count, archived] of [[100, 42], [1000, -1]] as const) {
    const { ops, seen } = listedOps(new Map(names(count).map((n, i) => [n, i === archived ? 'GLACIER' : 'STANDARD'])));
    let found = 0;
    const e = await thaw(ops, { type: 'data', collect: async () => (found++, handles(names(3, 41))) }, restoreSettings({ timeoutMs: 0 })).catch((x: unknown) => x);
    assert.equal(found, 1, `${count} objects`);
    // The whole listing in one page classes them all (the archived one HEADed); a longer one is not read on for 3 handles.
    assert.deepEqual(seen.heads, archived < 0 ? names(3, 41) : names(1, 42), `${count} objects`);
    assert.deepEqual(seen.restores, archived < 0 ? [] : [names(1, 42)[0]]);
    assert.ok(archived < 0 ? e === undefined : e instanceof EbakError, String(e));
  }
});
