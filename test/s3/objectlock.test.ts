/**
 * Object Lock through the CLI (EBAK_S3_OBJECT_LOCK_DAYS): init creates the
 * bucket with Object Lock, a backup sends retention on every data pack and
 * snapshot and on nothing else, and init on an existing bucket whose service
 * lacks Object Lock (s3rver answers 501) stops in one line. s3rver ignores the
 * headers, so what is checked is what the proxy saw (test/storage/objectlock.test.ts
 * covers the refused deletes and S3's answers).
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { assertFailed, jsonError, tempDir } from '../cli/harness.js';
import { classify, initRepo, makeSource, startFixture, type S3Fixture } from './fixture.js';

const dir = await tempDir('ebak-s3-lock-');
const LOCK = { EBAK_S3_OBJECT_LOCK_DAYS: '7' };
let fx: S3Fixture;

before(async () => {
  fx = await startFixture();
});
after(() => fx.stop());

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
