/**
 * Every repository command through the real CLI against S3 (s3rver over
 * HTTPS, through the recording proxy): init creates the bucket, backups are
 * incremental, restores byte-identical, check --read-data reads every pack,
 * stale locks do not block, damage in the bucket is named, and every way of
 * failing to reach the bucket is one line; the secret key never appears.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Repository } from '../../src/repository/repository.js';
import { normalizeRecoveryCode } from '../../src/repository/format/keyfile.js';
import { awsEnvironment } from '../../src/config/index.js';
import { openBackend } from '../../src/storage/open.js';
import { assertCode, assertFailed, backupSummary, fileDigests, tempDir } from '../cli/harness.js';
import { S3RVER_ENV } from '../storage/s3server.js';
import { SECRET, deleteObject, getObject, initRepo, listKeys, makeSource, packKindOf, putObject, startFixture, type S3Fixture } from './fixture.js';

const dir = await tempDir('ebak-s3-repo-');
let fx: S3Fixture;
let src: string;
let env: Record<string, string>;
const BUCKET = 'repo-bucket';
const PREFIX = 'team/host1';
/** The data pack that holds only late.bin (added by the lock test's backup). */
let latePack: string | undefined;

before(async () => {
  fx = await startFixture();
  src = await makeSource(dir);
});
after(() => fx.stop());

interface Summary {
  bytes_processed: number;
  files_new: number;
  files_unmodified: number;
}

/** Writes a lock object as another process would (encrypted, under locks/). */
async function writeLock(info: { time: string; hostname: string; pid: number; exclusive: boolean }): Promise<string> {
  const backend = await openBackend(fx.env(`${BUCKET}/${PREFIX}`, {}, true).EBAK_REPOSITORY!, awsEnvironment({ ...S3RVER_ENV, NODE_EXTRA_CA_CERTS: fx.server.tls.certFile }));
  try {
    const code = normalizeRecoveryCode((await readFile(env.EBAK_RECOVERY_KEY_FILE!, 'utf8')).trim());
    const repo = await Repository.open(backend, { recoveryCode: code });
    return await repo.saveObject('lock', Buffer.from(JSON.stringify({ ...info, username: 'someone' })));
  } finally {
    await backend.close();
  }
}

describe('repository commands on S3', { concurrency: false }, () => {
  it('init creates the bucket and the repository under the prefix', async () => {
    env = await initRepo(fx, dir, `${BUCKET}/${PREFIX}`);
    const keys = await listKeys(fx, BUCKET, '');
    assert.ok(keys.includes(`${PREFIX}/config`), keys.join(' '));
    assert.equal(keys.filter((k) => k.startsWith(`${PREFIX}/keys/`)).length, 1);
    assert.ok(keys.every((k) => k.startsWith(`${PREFIX}/`)), 'nothing outside the prefix');
    assertFailed(await fx.run(['init'], env), 1, 'already holds');
  });

  it('backs up, then an unchanged re-backup reads nothing', async () => {
    const first = await fx.run(['backup', src, '--json'], env);
    assert.equal(first.code, 0, first.stderr);
    const s1 = backupSummary(first) as Summary;
    assert.equal(s1.files_new, 4);
    assert.ok(s1.bytes_processed > 3 << 20);
    const second = await fx.run(['backup', src, '--json'], env);
    assert.equal(second.code, 0, second.stderr);
    const s2 = backupSummary(second) as Summary;
    assert.equal(s2.bytes_processed, 0);
    assert.equal(s2.files_unmodified, 4);
    const snaps = JSON.parse((await fx.run(['snapshots', '--json'], env)).stdout) as unknown[];
    assert.equal(snaps.length, 2);
  });

  it('restores byte-identical, and check --read-data passes', async () => {
    const out = join(dir, 'restore1');
    const r = await fx.run(['restore', 'latest', '--target', out], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await fileDigests(join(out, src)), await fileDigests(src));
    const c = await fx.run(['check', '--read-data', '--json'], env);
    assert.equal(c.code, 0, c.stderr);
    const res = JSON.parse(c.stdout) as { ok: boolean; packs: number; snapshots: number };
    assert.equal(res.ok, true);
    assert.equal(res.snapshots, 2);
    assert.ok(res.packs >= 2, 'at least one data and one tree pack');
  });

  it('a stale lock does not block a backup; a live exclusive one does', async () => {
    const live = await writeLock({ time: new Date().toISOString(), hostname: 'other-host', pid: 4242, exclusive: true });
    assertFailed(await fx.run(['backup', src], env), 11, `locks/${live}`);
    await deleteObject(fx, BUCKET, `${PREFIX}/locks/${live}`);
    const stale = await writeLock({ time: new Date(Date.now() - 2 * 3600_000).toISOString(), hostname: 'other-host', pid: 4242, exclusive: true });
    const packsBefore = new Set(await listKeys(fx, BUCKET, `${PREFIX}/data/`));
    await writeFile(join(src, 'late.bin'), randomBytes(1 << 20));
    const r = await fx.run(['backup', src, '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((backupSummary(r) as Summary).files_new, 1);
    const added = (await listKeys(fx, BUCKET, `${PREFIX}/data/`)).filter((k) => !packsBefore.has(k));
    latePack = (await Promise.all(added.map(async (k) => ((await packKindOf(fx, BUCKET, k)) === 'data' ? k : '')))).find(Boolean);
    assert.match(r.stderr, new RegExp(`stale lock locks/${stale}`));
    // Our own lock is gone afterwards; the stale one is left for its owner (or prune).
    assert.deepEqual(await listKeys(fx, BUCKET, `${PREFIX}/locks/`), [`${PREFIX}/locks/${stale}`]);
  });

  it('a data pack overwritten with garbage of the same size: check --read-data names it, restore fails on that file only', async () => {
    const victim = latePack;
    assert.ok(victim, 'the data pack holding late.bin');
    const size = (await getObject(fx, BUCKET, victim)).length;
    await putObject(fx, BUCKET, victim, randomBytes(size));
    const id = victim.split('/').pop()!;
    // Without --read-data the sizes still agree: only reading the pack finds it.
    const c = await fx.run(['check', '--read-data'], env);
    assert.equal(c.code, 1, c.stderr);
    assert.ok(c.stdout.includes(`data/${id}`), c.stdout);
    const out = join(dir, 'restore2');
    const r = await fx.run(['restore', 'latest', '--target', out], env);
    assert.equal(r.code, 3, r.stderr);
    const complaints = r.stderr.split('\n').filter((l) => l.includes(id));
    assert.equal(complaints.length, 1, r.stderr);
    assert.ok(complaints[0]!.includes('late.bin'), r.stderr);
    const got = await fileDigests(join(out, src));
    const want = await fileDigests(src);
    assert.equal(got.has('late.bin'), false, 'the damaged file is not left behind');
    want.delete('late.bin');
    assert.deepEqual(got, want, 'every other file is byte-identical');
  });

  it('a missing bucket: one line, exit 10, for every command that reads', async () => {
    const e = { ...env, EBAK_REPOSITORY: `s3:${fx.proxy.endpoint}/no-such-bucket/x` };
    for (const args of [['snapshots'], ['check'], ['restore', 'latest', '--target', join(dir, 'nowhere')], ['backup', src]])
      assertFailed(await fx.run(args, e), 10);
    assertCode(await fx.run(['snapshots', '--json'], e), 10, 'NO_REPOSITORY');
  });

  it('an unknown access key: one line naming access denied, not retried', async () => {
    fx.proxy.reset();
    const r = await fx.run(['snapshots'], { ...env, AWS_ACCESS_KEY_ID: 'AKIAEBAKWRONGKEY0000' });
    assertFailed(r, 1, 'access denied');
    assert.match(r.stderr, /hint: .*AWS_ACCESS_KEY_ID/);
    assert.equal(fx.proxy.requests.length, 1, 'a refused credential is not retried');
  });

  it('an unreachable endpoint: one line, exit 23, after the retry budget', async () => {
    const r = await fx.run(['snapshots'], { ...env, EBAK_REPOSITORY: 's3:https://127.0.0.1:9/bucket' });
    assertFailed(r, 23, 'gave up after 6 attempts');
    assert.match(r.stderr, /ECONNREFUSED/);
    assertCode(await fx.run(['snapshots', '--json'], { ...env, EBAK_REPOSITORY: 's3:https://127.0.0.1:9/bucket' }), 23, 'STORAGE_UNREACHABLE');
  });

  it('an untrusted certificate: one line with a hint naming the CA variables', async () => {
    const { NODE_EXTRA_CA_CERTS: _, ...noCa } = env;
    const r = await fx.run(['snapshots'], noCa);
    assertFailed(r, 1, 'TLS failure');
    assert.match(r.stderr, /NODE_EXTRA_CA_CERTS/);
    const viaBundle = await fx.run(['snapshots'], { ...noCa, AWS_CA_BUNDLE: fx.server.tls.certFile });
    assert.equal(viaBundle.code, 0, viaBundle.stderr);
  });

  it('the secret key never appears in any output, --json included', () => {
    assert.ok(fx.runs.length >= 15);
    for (const r of fx.runs) {
      assert.ok(!r.stdout.includes(SECRET) && !r.stderr.includes(SECRET), `${r.stdout}\n${r.stderr}`);
      assert.ok(!r.stderr.includes('NodeVersionSupportWarning'), 'no SDK notices on stderr');
    }
  });
});
