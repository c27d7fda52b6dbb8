/**
 * Data packs in archive storage (DEEP_ARCHIVE) that S3 has not restored:
 * S3 answers GetObject with 403 InvalidObjectState. s3rver serves archived
 * objects at once, so the proxy plays S3's part for every GET of a pack that
 * was PUT with an archive class (and lists it in that class, as S3 does). Browsing still works; check --read-data
 * names the pack and the archive without retrying (waiting would not help).
 * Restore asks S3 to restore the packs first (thaw.test.ts); against a
 * service without RestoreObject (s3rver answers 501) it stops in one line,
 * asking once.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { assertFailed, tempDir } from '../cli/harness.js';
import type { Fault } from '../storage/proxy.js';
import { classify, initRepo, makeSource, startFixture, type S3Fixture } from './fixture.js';
import { listedArchived } from './glacier.js';

const dir = await tempDir('ebak-s3-archive-');
let fx: S3Fixture;

before(async () => {
  fx = await startFixture();
});
after(() => fx.stop());

// S3's answer to a GET of an archived object.
const ARCHIVED: Fault = { status: 403, code: 'InvalidObjectState' };

it('archived data packs: ls works; check --read-data names the archive; restore without RestoreObject stops in one line; no retries', async () => {
  const src = await makeSource(dir);
  const env = await initRepo(fx, dir, 'archive/r');
  fx.proxy.reset();
  const b = await fx.run(['backup', src, '--s3-data-storage-class', 'DEEP_ARCHIVE'], env);
  assert.equal(b.code, 0, b.stderr);
  const archived = new Set(fx.proxy.requests.map(classify).filter((c) => c.storageClass === 'DEEP_ARCHIVE').map((c) => c.key));
  assert.equal(archived.size, 1);
  fx.proxy.reset();
  fx.proxy.fault = (q) => listedArchived(archived, q) ?? (q.method === 'GET' && archived.has(classify(q).key) ? ARCHIVED : undefined);

  const ls = await fx.run(['ls', 'latest'], env);
  assert.equal(ls.code, 0, ls.stderr);
  assert.ok(ls.stdout.includes('random.bin'));

  const packId = [...archived][0]!.split('/').pop()!;
  const r = await fx.run(['restore', 'latest', '--target', join(dir, 'out')], env);
  assertFailed(r, 1, 'does not implement');
  assert.ok(r.stderr.includes(`restore data/${packId} from archive`), r.stderr);
  const asked = fx.proxy.requests.filter((q) => q.method === 'POST' && q.url.includes('restore'));
  assert.equal(asked.length, 1, 'a 501 is not retried');
  const c = await fx.run(['check', '--read-data'], env);
  assert.equal(c.code, 1);
  assert.ok(c.stdout.split('\n').some((l) => l.includes(`data/${packId}`) && l.includes('archive storage')), c.stdout);
  fx.proxy.fault = undefined;

  // Each refused read (check's) was asked once: InvalidObjectState is not retried.
  const refused = fx.proxy.requests.filter((q) => q.method === 'GET' && archived.has(classify(q).key)).map((q) => `${q.url} ${q.headers.range ?? ''}`);
  assert.ok(refused.length >= 1);
  assert.equal(new Set(refused).size, refused.length, 'no request was repeated');
});
