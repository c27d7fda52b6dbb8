/**
 * Object Lock through the CLI (EBAK_S3_OBJECT_LOCK_DAYS): init creates the
 * bucket with Object Lock, a backup sends retention on every data pack and
 * snapshot and on nothing else, a later backup extends the packs it reuses
 * (PutObjectRetention), and init on an existing bucket whose service
 * lacks Object Lock (s3rver answers 501) stops in one line. s3rver ignores the
 * headers, so what is checked is what the proxy saw (test/storage/objectlock.test.ts
 * covers the refused deletes and S3's answers).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { assertFailed, jsonError, tempDir } from '../cli/harness.js';
import { playObjectLock } from '../storage/objectlock-play.js';
import { classify, initRepo, makeSource, startFixture, type S3Fixture } from './fixture.js';

const dir = await tempDir('ebak-s3-lock-');
// Sources whose ancestors nothing else changes: a snapshot records its ancestors' metadata, and other
// test files add entries to /tmp all the time, which would make every re-backup store a new root tree
// (a new pack, extended by the next backup).
const stable = mkdtempSync(join('/var/tmp', 'ebak-s3-lock-'));
const LOCK = { EBAK_S3_OBJECT_LOCK_DAYS: '7' };
let fx: S3Fixture;

before(async () => {
  fx = await startFixture();
});
after(() => fx.stop());
after(() => rmSync(stable, { recursive: true, force: true }));

it('init creates the bucket with Object Lock; backup locks data packs and snapshots for N days, nothing else', async () => {
  fx.proxy.reset();
  const env = await initRepo(fx, dir, 'locked/r', LOCK);
  const createBucket = fx.proxy.requests.map(classify).find((c) => c.kind === 'bucket' && c.rec.method === 'PUT');
  assert.equal(createBucket?.rec.headers['x-amz-bucket-object-lock-enabled'], 'true');
  const src = await makeSource(dir, 1 << 20);
  fx.proxy.reset();
  const started = Date.now();
  const b = await fx.run(['backup', src], env);
  assert.equal(b.code, 0, b.stderr);
  const puts = fx.proxy.requests.map(classify).filter((c) => c.cls === 'put');
  const kinds = new Set<string>();
  for (const p of puts) {
    kinds.add(p.kind);
    const locked = p.kind === 'data' || p.kind === 'snapshots';
    assert.equal(p.rec.headers['x-amz-object-lock-mode'], locked ? 'COMPLIANCE' : undefined, p.key);
    const until = p.rec.headers['x-amz-object-lock-retain-until-date'] as string | undefined;
    if (locked) assert.ok(Math.abs(Date.parse(until!) - (started + 7 * 86_400_000)) < 120_000, `${p.key}: ${until}`);
    else assert.equal(until, undefined, p.key);
  }
  assert.deepEqual([...kinds].sort(), ['data', 'index', 'locks', 'snapshots']);
  // The backup's own lock file is still deleted at the end (it is never locked).
  assert.ok(fx.proxy.requests.some((q) => q.method === 'DELETE' && classify(q).kind === 'locks'));
});

it('a backup extends the packs its snapshot reuses to N × 1.25 days (PutObjectRetention), no other pack, never shorter; then each pack at most once per N / 4 days', async () => {
  fx.proxy.reset();
  const env = { ...(await initRepo(fx, dir, 'extending/r', LOCK)), EBAK_NO_CACHE: '', EBAK_CACHE_DIR: join(dir, 'extend-cache') }; // the table lives in the cache
  const src = await makeSource(join(stable, 'extend'), 1 << 20);
  const other = join(stable, 'extend', 'other');
  await mkdir(other);
  await writeFile(join(other, 'alone.bin'), randomBytes(4096));
  const play = playObjectLock(fx.proxy);
  const dataPuts = () => new Set(fx.proxy.requests.map(classify).filter((c) => c.kind === 'data' && c.rec.method === 'PUT' && !c.rec.url.includes('retention')).map((c) => c.key));
  assert.equal((await fx.run(['backup', src], env)).code, 0);
  const reused = dataPuts();
  fx.proxy.requests.length = 0;
  assert.equal((await fx.run(['backup', other], env)).code, 0);
  const unrelated = dataPuts();
  await writeFile(join(src, 'new.bin'), randomBytes(2048));
  const longer = { ...env, EBAK_S3_OBJECT_LOCK_DAYS: '10' }; // the environment overrides the config's 7 days
  fx.proxy.requests.length = 0;
  const started = Date.now();
  const b = await fx.run(['backup', src], longer);
  assert.equal(b.code, 0, b.stderr);
  assert.deepEqual(new Set(play.extensions.map((e) => e.key)), reused, 'exactly the packs of the first backup, which the new snapshot reuses');
  assert.ok(![...unrelated].some((k) => play.extensions.some((e) => e.key === k)), 'not the packs of the other path');
  const snapshot = fx.proxy.requests.map(classify).find((c) => c.kind === 'snapshots' && c.rec.method === 'PUT');
  const snapshotUntil = Date.parse(snapshot!.rec.headers['x-amz-object-lock-retain-until-date'] as string);
  for (const e of play.extensions) {
    assert.equal(e.mode, 'COMPLIANCE', e.key);
    assert.ok(e.until >= snapshotUntil, `${e.key}: locked at least as long as the new snapshot`);
    assert.ok(Math.abs(e.until - (started + 12.5 * 86_400_000)) < 120_000, `${e.key}: ${new Date(e.until).toISOString()}`);
  }
  const neverShorter = () => assert.ok(play.extensions.every((e) => e.before !== undefined && e.until >= e.before), 'never shorter (a retried request may repeat a date)');
  neverShorter();
  const fresh = dataPuts();
  // Unchanged re-backups: the packs the last backup uploaded (locked N days from their upload) are extended once; after that nothing is asked.
  const heads = () => new Set(fx.proxy.requests.filter((q) => q.method === 'HEAD' && classify(q).kind === 'data').map((q) => classify(q).key));
  for (const expected of [fresh, new Set<string>()]) {
    fx.proxy.requests.length = 0;
    play.extensions.length = 0;
    assert.equal((await fx.run(['backup', src], longer)).code, 0);
    assert.deepEqual(new Set(play.extensions.map((e) => e.key)), expected);
    neverShorter();
    assert.deepEqual(heads(), expected, 'a HEAD only for a pack the table does not know to be locked long enough');
  }
});

it('init with Object Lock on an existing bucket whose service has none: one line, nothing written', async () => {
  fx.proxy.reset();
  const r = await fx.run(['init'], fx.env('locked/second', LOCK));
  assertFailed(r, 1, 'does not support S3 Object Lock');
  assert.ok(!fx.proxy.requests.some((q) => q.method === 'PUT'), 'nothing written');
  assert.ok(r.stderr.includes('object-lock-enabled-for-bucket'), r.stderr);
});

it('the retention set at init is stored in the repository config and applied by later commands without any setting', async () => {
  fx.proxy.reset();
  const env = fx.env('configured/r', { EBAK_PASSWORD: 'configured' });
  const init = await fx.run(['init', '--json', '--s3-object-lock-days', '3', '--s3-object-lock-mode', 'GOVERNANCE'], env);
  assert.equal(init.code, 0, init.stderr);
  const createBucket = fx.proxy.requests.map(classify).find((c) => c.kind === 'bucket' && c.rec.method === 'PUT');
  assert.equal(createBucket?.rec.headers['x-amz-bucket-object-lock-enabled'], 'true');
  const cfg = await fx.run(['cat', 'config'], env);
  assert.deepEqual(JSON.parse(cfg.stdout).object_lock, { days: 3, mode: 'GOVERNANCE' });
  const src = await makeSource(`${dir}/configured`, 1 << 20);
  fx.proxy.reset();
  const started = Date.now();
  const b = await fx.run(['backup', src], env);
  assert.equal(b.code, 0, b.stderr);
  const locked = fx.proxy.requests.map(classify).filter((c) => c.cls === 'put' && (c.kind === 'data' || c.kind === 'snapshots'));
  assert.ok(locked.length >= 2);
  for (const p of locked) {
    assert.equal(p.rec.headers['x-amz-object-lock-mode'], 'GOVERNANCE', p.key);
    const until = Date.parse(p.rec.headers['x-amz-object-lock-retain-until-date'] as string);
    assert.ok(Math.abs(until - (started + 3 * 86_400_000)) < 120_000, p.key);
  }
});

it('Object Lock on a local repository is refused before anything is created', async () => {
  const r = await fx.run(['init', `${dir}/local-lock`, '--s3-object-lock-days', '3'], { EBAK_PASSWORD: 'pw', PATH: process.env.PATH! });
  assertFailed(r, 1, 'Object Lock needs an S3 repository');
});

it('a bad EBAK_S3_OBJECT_LOCK_DAYS / _MODE is refused (USAGE) before any request', async () => {
  fx.proxy.reset();
  const bad: Record<string, string>[] = [{ EBAK_S3_OBJECT_LOCK_DAYS: '0' }, { EBAK_S3_OBJECT_LOCK_DAYS: 'x' }, { EBAK_S3_OBJECT_LOCK_DAYS: '7', EBAK_S3_OBJECT_LOCK_MODE: 'FOREVER' }];
  for (const lock of bad) {
    const r = await fx.run(['init', '--json'], fx.env('locked/bad', lock));
    assert.equal(r.code, 1, r.stderr);
    assert.equal(jsonError(r).code, 'USAGE');
  }
  assert.equal(fx.proxy.requests.length, 0);
});
