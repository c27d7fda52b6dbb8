/**
 * `ebak cold` (#18's cold_after_days) against s3rver over HTTPS: the data
 * pack only an old snapshot needs is copied in place (CopyObject onto its
 * own key, the new class on the request and kept by s3rver, the bytes
 * unchanged); the pack a newer snapshot needs, tree packs and metadata stay
 * STANDARD; a dry run and a second run copy nothing; a copy whose head does
 * not match is not trusted (CORRUPT); the moved pack restores through the
 * RestoreObject path (the proxy playing S3's archive, glacier.ts); a local
 * repository is refused before it is opened.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CopyObjectCommand } from '@aws-sdk/client-s3';
import { ebak, fileDigests, jsonError, tempDir } from '../cli/harness.js';
import { classify, getObject, initRepo, listKeys, startFixture, storedClass, type S3Fixture } from './fixture.js';
import { GlacierSim } from './glacier.js';

const dir = await tempDir('ebak-s3-cold-');
const BUCKET = 'cold-move';
const FAST = { EBAK_S3_RESTORE_POLL_SECONDS: '0.05', EBAK_S3_RESTORE_TIMEOUT: '30' };
let fx: S3Fixture;
let env: Record<string, string>;
let src: string;
let oldPack: string;
let newPack: string;
let oldDigests: Map<string, string>;

interface Summary { packs_candidate: string[]; packs_moved: string[]; packs_already: string[]; packs_hot: number }

/** Backs `src` up (at `time`, if given); returns the data packs it wrote. */
async function backup(time?: string): Promise<string[]> {
  fx.proxy.reset();
  const b = await fx.run(['backup', src, ...(time ? ['--time', time] : [])], env);
  assert.equal(b.code, 0, b.stderr);
  const puts = fx.proxy.requests.map(classify).filter((c) => c.cls === 'put' && c.kind === 'data');
  const data: string[] = [];
  for (const p of puts) if ((await getObject(fx, BUCKET, p.key))[6] === 0) data.push(p.key);
  return data;
}

const copies = () => fx.proxy.requests.filter((q) => q.method === 'PUT' && q.headers['x-amz-copy-source'] !== undefined);

async function cold(args: string[]): Promise<Summary> {
  fx.proxy.reset();
  const r = await fx.run(['cold', '--json', ...args], env);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Summary;
}

before(async () => {
  fx = await startFixture();
  env = await initRepo(fx, dir, `${BUCKET}/r`);
  src = join(dir, 'src');
  await mkdir(src);
  await writeFile(join(src, 'old.bin'), randomBytes(1 << 20));
  oldDigests = await fileDigests(src);
  [oldPack] = await backup('2026-01-01T00:00:00Z');
  await rm(join(src, 'old.bin'));
  await writeFile(join(src, 'new.bin'), randomBytes(1 << 20));
  [newPack] = await backup();
  assert.ok(oldPack && newPack);
});
after(() => fx.stop());

describe('ebak cold', { concurrency: false }, () => {
  it('--dry-run names the pack only the old snapshot needs and copies nothing', async () => {
    const s = await cold(['--after-days', '30', '--storage-class', 'DEEP_ARCHIVE', '--dry-run']);
    assert.deepEqual(s.packs_candidate.map((id) => id.slice(0, 8)), [oldPack.split('/').pop()!.slice(0, 8)]);
    assert.equal(s.packs_hot, 1);
    assert.deepEqual(s.packs_moved, []);
    assert.equal(copies().length, 0);
    assert.equal(await storedClass(fx, BUCKET, oldPack), 'STANDARD');
  });

  it('a copy whose head does not match the pack is not trusted (CORRUPT)', async () => {
    let heads = 0;
    fx.proxy.reset();
    // The second HEAD of the pack is the check after its copy: S3 saying another ETag there means other bytes.
    fx.proxy.fault = (q) => (q.method === 'HEAD' && classify(q).key === oldPack && ++heads === 2 ? { addHeaders: { etag: '"00000000000000000000000000000000"' } } : undefined);
    const r = await fx.run(['cold', '--json', '--after-days', '30', '--storage-class', 'DEEP_ARCHIVE'], env);
    fx.proxy.fault = undefined;
    assert.equal(r.code, 1, r.stderr);
    assert.equal(jsonError(r).code, 'CORRUPT');
    assert.equal(heads, 2);
    // Back to STANDARD behind ebak's back, for the next test.
    await fx.client.send(new CopyObjectCommand({ Bucket: BUCKET, Key: oldPack, CopySource: `${BUCKET}/${oldPack}`, StorageClass: 'STANDARD', MetadataDirective: 'REPLACE' }));
    assert.equal(await storedClass(fx, BUCKET, oldPack), 'STANDARD');
  });

  it('copies that pack in place into the colder class, bytes unchanged; everything else stays STANDARD; a second run copies nothing', async () => {
    const before = await getObject(fx, BUCKET, oldPack);
    const s = await cold(['--after-days', '30', '--storage-class', 'DEEP_ARCHIVE']);
    assert.equal(s.packs_moved.length, 1);
    const [copy] = copies();
    assert.equal(copies().length, 1);
    assert.equal(classify(copy!).key, oldPack, 'onto its own key');
    assert.equal(decodeURIComponent(String(copy!.headers['x-amz-copy-source'])).replace(/^\//, ''), `${BUCKET}/${oldPack}`);
    assert.equal(copy!.headers['x-amz-storage-class'], 'DEEP_ARCHIVE');
    assert.equal(await storedClass(fx, BUCKET, oldPack), 'DEEP_ARCHIVE');
    const after = await getObject(fx, BUCKET, oldPack);
    assert.ok(after.equals(before));
    assert.equal(createHash('sha256').update(after).digest('hex'), oldPack.split('/').pop());
    for (const key of await listKeys(fx, BUCKET, 'r/')) if (key !== oldPack) assert.equal(await storedClass(fx, BUCKET, key), 'STANDARD', key);

    const again = await cold(['--after-days', '30', '--storage-class', 'DEEP_ARCHIVE']);
    assert.deepEqual(again.packs_moved, []);
    assert.equal(again.packs_already.length, 1);
    assert.equal(copies().length, 0);
  });

  it('the moved pack restores through RestoreObject, byte-identical', async () => {
    const sim = new GlacierSim(new Set([oldPack]), 1);
    fx.proxy.reset();
    fx.proxy.fault = sim.fault;
    const snaps = JSON.parse((await fx.run(['snapshots', '--json'], env)).stdout) as { id: string; time: string }[];
    const first = snaps.find((s) => s.time.startsWith('2026-01-01'))!;
    const out = join(dir, 'out');
    const r = await fx.run(['restore', first.id, '--target', out], { ...env, ...FAST });
    fx.proxy.fault = undefined;
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(sim.restoreRequests, [oldPack]);
    assert.deepEqual(await fileDigests(join(out, src)), oldDigests);
  });

  it('a plan with cold_after_days moves them after its backup and records it; on a local repository the run fails and says why', async () => {
    await fx.client.send(new CopyObjectCommand({ Bucket: BUCKET, Key: oldPack, CopySource: `${BUCKET}/${oldPack}`, StorageClass: 'STANDARD', MetadataDirective: 'REPLACE' }));
    const local = join(dir, 'local');
    assert.equal((await ebak(['init'], { EBAK_REPOSITORY: local, EBAK_PASSWORD: 'pw' })).code, 0);
    const plans = join(dir, 'plans.yaml');
    await writeFile(plans, [
      'plans:',
      '  - name: cold-s3',
      `    repository: ${env.EBAK_REPOSITORY}`,
      `    sources: [${src}]`,
      '    schedule: "@daily"',
      '    cold_after_days: 30',
      '    cold_storage_class: DEEP_ARCHIVE',
      '  - name: cold-local',
      `    repository: ${local}`,
      `    sources: [${src}]`,
      '    schedule: "@daily"',
      '    cold_after_days: 30',
      '',
    ].join('\n'));
    const state = join(dir, 'plan-state.json');
    fx.proxy.reset();
    const r = await fx.run(['plan', 'run', 'cold-s3', '--plans', plans, '--state', state, '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as { cold: unknown }).cold, { storage_class: 'DEEP_ARCHIVE', moved: 1 });
    assert.equal(await storedClass(fx, BUCKET, oldPack), 'DEEP_ARCHIVE');
    assert.equal(copies().length, 1);

    const l = await ebak(['plan', 'run', 'cold-local', '--plans', plans, '--state', state, '--json'], { EBAK_PASSWORD: 'pw' });
    assert.equal(l.code, 1, l.stderr);
    const rec = JSON.parse(l.stdout) as { ok: boolean; snapshot?: string; cold: { moved: number; error?: string } };
    assert.ok(rec.snapshot, 'the backup itself was made');
    assert.equal(rec.cold.moved, 0);
    assert.ok(rec.cold.error);
  });

  it('a local repository is refused before it is opened', async () => {
    const r = await ebak(['cold', '--json', '--after-days', '30'], { EBAK_REPOSITORY: join(dir, 'no-such-local-repo') });
    assert.equal(jsonError(r).code, 'USAGE');
    assert.equal(r.code, 1);
  });
});
