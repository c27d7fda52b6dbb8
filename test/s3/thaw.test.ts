/**
 * Restore from archive storage (DEEP_ARCHIVE data packs), at the request
 * level: the proxy plays S3's archive (glacier.ts). Restore asks S3 once per
 * archived pack it needs (never for tree packs, never for packs an --include
 * leaves out), polls until each copy is ready and then no more, and restores
 * byte-identical. Out of time, it fails in one line saying how many packs are
 * still archived; the next run asks for no second restore.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { assertFailed, fileDigests, tempDir } from '../cli/harness.js';
import { classify, initRepo, makeSource, packKindOf, startFixture, type S3Fixture } from './fixture.js';
import { GlacierSim } from './glacier.js';

const dir = await tempDir('ebak-s3-thaw-');
const BUCKET = 'thaw';
const FAST = { EBAK_S3_RESTORE_POLL_SECONDS: '0.05', EBAK_S3_RESTORE_TIMEOUT: '30' };
let fx: S3Fixture;
let env: Record<string, string>;
let src: string;
/** Data pack keys: the first backup's, and the one the second backup added for new.bin. */
let firstPacks: Set<string>;
let newPack: string;

before(async () => {
  fx = await startFixture();
  env = await initRepo(fx, dir, `${BUCKET}/r`);
  src = await makeSource(dir);
  firstPacks = await backup();
  assert.equal(firstPacks.size, 1);
  await writeFile(join(src, 'new.bin'), randomBytes(1 << 20));
  const second = await backup();
  assert.equal(second.size, 1, 'the second backup adds one data pack');
  newPack = [...second][0]!;
});
after(() => fx.stop());

/** Backs `src` up with data packs in DEEP_ARCHIVE; returns the data packs it wrote. */
async function backup(): Promise<Set<string>> {
  fx.proxy.reset();
  const b = await fx.run(['backup', src, '--s3-data-storage-class', 'DEEP_ARCHIVE'], env);
  assert.equal(b.code, 0, b.stderr);
  return new Set(fx.proxy.requests.map(classify).filter((c) => c.cls === 'put' && c.storageClass === 'DEEP_ARCHIVE').map((c) => c.key));
}

function archiveAll(readyAfter: number): GlacierSim {
  const sim = new GlacierSim(new Set([...firstPacks, newPack]), readyAfter);
  fx.proxy.reset();
  fx.proxy.fault = sim.fault;
  return sim;
}

/** GETs of archived packs (tree packs are read as usual). */
function archivedGets(sim: GlacierSim): string[] {
  return fx.proxy.requests.map(classify).filter((c) => c.cls === 'get' && sim.archived.has(c.key)).map((c) => c.key);
}

it('a whole-snapshot restore asks S3 once per archived data pack, waits until they are ready, and is byte-identical', async () => {
  const sim = archiveAll(3);
  const out = join(dir, 'out-all');
  const r = await fx.run(['restore', 'latest', '--target', out, '--s3-restore-days', '2', '--s3-restore-tier', 'Bulk'], { ...env, ...FAST });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual([...sim.restoreRequests].sort(), [...firstPacks, newPack].sort(), 'once per needed archived pack');
  // The request body carries the days and tier asked for.
  const body = fx.proxy.requests.find((q) => q.method === 'POST')!.body.toString();
  assert.match(body, /<Days>2<\/Days>/);
  assert.match(body, /<Tier>Bulk<\/Tier>/);
  // No RestoreObject for anything but data packs (tree packs stay STANDARD).
  for (const key of sim.restoreRequests) assert.equal(await packKindOf(fx, BUCKET, key), 'data');
  // One HEAD to classify, then 3 polls until ready, then no more.
  for (const key of sim.archived) assert.equal(sim.heads.get(key), 1 + 3, key);
  assert.deepEqual(await fileDigests(join(out, src)), await fileDigests(src));
  fx.proxy.fault = undefined;
});

it('--include asks only for the packs the included files need', async () => {
  const sim = archiveAll(1);
  const out = join(dir, 'out-new');
  const r = await fx.run(['restore', 'latest', '--target', out, '--include', `${src}/new.bin`], { ...env, ...FAST });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(sim.restoreRequests, [newPack]);
  for (const key of firstPacks) assert.equal(sim.heads.get(key), undefined, 'a pack not needed is not even looked at');
  assert.ok(archivedGets(sim).every((k) => k === newPack));
  assert.deepEqual([...(await fileDigests(out)).keys()], [`${src.slice(1)}/new.bin`]);
  fx.proxy.fault = undefined;
});

it('out of time: one line saying how many packs are still archived, exit 1, no data read; the next run asks no second restore', async () => {
  const sim = archiveAll(Infinity);
  const out = join(dir, 'out-timeout');
  const r = await fx.run(['restore', 'latest', '--target', out], { ...env, EBAK_S3_RESTORE_POLL_SECONDS: '0.05', EBAK_S3_RESTORE_TIMEOUT: '0.3' });
  assertFailed(r, 1, '2 of 2 archived data packs are still being restored');
  assert.equal(sim.restoreRequests.length, 2);
  assert.deepEqual(archivedGets(sim), []);

  // The restores go on at S3: a later run waits for them without asking again.
  sim.readyAfter = 0;
  const again = await fx.run(['restore', 'latest', '--target', join(dir, 'out-later')], { ...env, ...FAST });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(sim.restoreRequests.length, 2, 'no RestoreObject for a restore already under way');
  assert.deepEqual(await fileDigests(join(dir, 'out-later', src)), await fileDigests(src));
  fx.proxy.fault = undefined;
});

it('bad restore flags are refused before any request', async () => {
  fx.proxy.reset();
  const cases: [string[], string][] = [
    [['--s3-restore-tier', 'Fast'], 'S3 restore tier'],
    [['--s3-restore-days', '0'], 'S3 restore days'],
  ];
  for (const [flags, names] of cases) assertFailed(await fx.run(['restore', 'latest', '--target', join(dir, 'never'), ...flags], env), 1, names);
  assert.equal(fx.proxy.requests.length, 0);
});
