/**
 * What ebak asks of S3, checked on the proxy's record of every request:
 * the `requests` of `backup --json` equal what the server saw (multipart
 * included); `--s3-data-storage-class` puts only data packs in that class;
 * browsing commands never download a data pack (so data can sit in cold
 * storage while snapshots, ls, diff and check stay instant).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RequestCounts } from '../../src/storage/accounting.js';
import { awsEnvironment } from '../../src/config/index.js';
import { openBackend } from '../../src/storage/open.js';
import { assertFailed, backupSummary, fileDigests, jsonError, tempDir } from '../cli/harness.js';
import { classify, countByClass, initRepo, listKeys, makeSource, packKindOf, startFixture, storedClass, type S3Fixture } from './fixture.js';
import { GlacierSim } from './glacier.js';

const dir = await tempDir('ebak-s3-requests-');
let fx: S3Fixture;

before(async () => {
  fx = await startFixture();
});
after(() => fx.stop());

describe('request accounting', () => {
  it('backup --json counts exactly the requests the server saw', async () => {
    const src = await makeSource(join(dir, 'acct'), 20 << 20);
    const env = await initRepo(fx, dir, 'acct/r');
    for (const round of ['first', 'unchanged']) {
      fx.proxy.reset();
      const r = await fx.run(['backup', src, '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      const got = (backupSummary(r) as { requests: RequestCounts }).requests;
      const { bytesUp, bytesDown, ...classes } = got;
      assert.deepEqual(classes, countByClass(fx.proxy.requests), round);
      const putBytes = fx.proxy.requests.filter((q) => q.method === 'PUT').reduce((n, q) => n + q.body.length, 0);
      assert.equal(bytesUp, putBytes, round);
      // Every object but config and locks is named by its SHA-256, and its upload carries that name as
      // x-amz-checksum-sha256 and as the signed payload hash (SaveOptions.sha256: nothing hashed twice).
      let named = 0;
      for (const q of fx.proxy.requests.filter((x) => x.method === 'PUT' && x.body.length > 0)) {
        const name = /\/(?:data\/[0-9a-f]{2}|index|snapshots|keys)\/([0-9a-f]{64})$/.exec(q.url.split('?')[0]!)?.[1];
        if (!name) continue;
        named++;
        assert.equal(createHash('sha256').update(q.body).digest('hex'), name, q.url);
        assert.equal(q.headers['x-amz-checksum-sha256'], Buffer.from(name, 'hex').toString('base64'), q.url);
        assert.equal(q.headers['x-amz-content-sha256'], name, q.url);
      }
      if (round === 'first') assert.ok(named >= 3, `packs, index and snapshot uploads seen (${named})`);
      assert.ok(bytesDown > 0, 'keys, config and index were read');
    }
  });

  it('a multipart save counts create, every part and complete, as the server saw them', async () => {
    // Packs stay under the 16 MiB multipart threshold at the default pack size,
    // so this is shown on the backend with a lower threshold.
    const e = fx.env('acct-mp/r');
    const b = await openBackend(e.EBAK_REPOSITORY!, awsEnvironment(e), { multipartThresholdBytes: 6 << 20, partBytes: 5 << 20 });
    await b.create();
    fx.proxy.reset();
    const before = b.requests();
    await b.save({ type: 'data', name: 'ab'.repeat(32) }, randomBytes(13 << 20), { packKind: 'data' });
    await b.load({ type: 'data', name: 'ab'.repeat(32) });
    const after = b.requests();
    await b.close();
    const seen = countByClass(fx.proxy.requests);
    assert.equal(seen.put, 1 + 3 + 1, 'create, three parts, complete');
    assert.deepEqual({ put: after.put - before.put, get: after.get - before.get, list: after.list - before.list, head: after.head - before.head, delete: after.delete - before.delete }, seen);
    assert.equal(after.bytesUp - before.bytesUp, 13 << 20);
    assert.equal(after.bytesDown - before.bytesDown, 13 << 20);
  });
});

describe('--s3-data-storage-class', { concurrency: false }, () => {
  const BUCKET = 'cold';
  let env: Record<string, string>;
  let src: string;
  /** Object keys of data packs (file contents) and of tree packs. */
  const dataPacks = new Set<string>();
  const treePacks = new Set<string>();

  before(async () => {
    src = await makeSource(join(dir, 'cold'));
    env = await initRepo(fx, dir, `${BUCKET}/r`);
  });

  it('refuses an unknown class, or a local repository, before any request', async () => {
    fx.proxy.reset();
    const r = await fx.run(['backup', src, '--s3-data-storage-class', 'ICE', '--json'], env);
    assert.equal(jsonError(r).code, 'USAGE');
    assertFailed(await fx.run(['backup', src, '--s3-data-storage-class', 'GLACIER'], { ...env, EBAK_REPOSITORY: join(dir, 'local') }), 1, 'only to S3');
    assert.equal(fx.proxy.requests.length, 0);
  });

  it('puts data packs in the class; tree packs, index, snapshots, config, keys and locks stay STANDARD', async () => {
    fx.proxy.reset();
    const r = await fx.run(['backup', src, '--s3-data-storage-class', 'STANDARD_IA'], env);
    assert.equal(r.code, 0, r.stderr);
    await writeFile(join(src, 'added.bin'), randomBytes(1 << 20));
    const deep = await fx.run(['backup', src, '--s3-data-storage-class', 'DEEP_ARCHIVE'], env);
    assert.equal(deep.code, 0, deep.stderr);
    const uploads = fx.proxy.requests.map(classify).filter((c) => c.cls === 'put' && c.key !== '' && !c.rec.url.includes('partNumber='));
    const kinds = new Set<string>();
    for (const u of uploads) {
      kinds.add(u.kind);
      const pack = u.kind === 'data' ? await packKindOf(fx, BUCKET, u.key) : undefined;
      if (pack === 'data') dataPacks.add(u.key);
      if (pack === 'tree') treePacks.add(u.key);
      const want = pack === 'data' ? ['STANDARD_IA', 'DEEP_ARCHIVE'] : ['STANDARD'];
      assert.ok(want.includes(u.storageClass ?? ''), `${u.key} sent as ${u.storageClass}`);
      // s3rver stores the class it was given: the server agrees with the request.
      if (u.kind !== 'locks') assert.equal(await storedClass(fx, BUCKET, u.key), u.storageClass, u.key);
    }
    assert.deepEqual([...kinds].sort(), ['data', 'index', 'locks', 'snapshots']);
    assert.equal(dataPacks.size, 2, 'one data pack per backup');
    assert.ok(treePacks.size >= 2);
    const classes = await Promise.all([...dataPacks].map((k) => storedClass(fx, BUCKET, k)));
    assert.deepEqual(classes.sort(), ['DEEP_ARCHIVE', 'STANDARD_IA']);
    for (const k of await listKeys(fx, BUCKET, 'r/')) {
      if (!dataPacks.has(k)) assert.equal(await storedClass(fx, BUCKET, k), 'STANDARD', `${k} (config and keys from init included)`);
    }
  });

  it('snapshots, ls, diff and check (without --read-data) never GET a data pack; restore does', async () => {
    const snaps = JSON.parse((await fx.run(['snapshots', '--json'], env)).stdout) as { id: string }[];
    assert.equal(snaps.length, 2);
    fx.proxy.reset();
    for (const args of [['snapshots'], ['ls', 'latest'], ['diff', snaps[0]!.id, snaps[1]!.id], ['check']]) {
      const r = await fx.run(args, env);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    }
    const gets = fx.proxy.requests.map(classify).filter((c) => c.cls === 'get' && c.kind === 'data');
    assert.ok(gets.some((c) => treePacks.has(c.key)), 'trees were read (the check is not vacuous)');
    assert.deepEqual(gets.filter((c) => dataPacks.has(c.key)).map((c) => c.key), []);
    // s3rver serves DEEP_ARCHIVE at once; the proxy plays S3's archive (thaw.test.ts has the details).
    const deep = new Set<string>();
    for (const k of dataPacks) if ((await storedClass(fx, BUCKET, k)) === 'DEEP_ARCHIVE') deep.add(k);
    const sim = new GlacierSim(deep, 1);
    const out = join(dir, 'cold-restore');
    const r = await restoreThrough(sim, env, out);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(sim.restoreRequests, [...deep], 'STANDARD_IA reads at once: no restore asked for it');
    assert.deepEqual(await fileDigests(join(out, src)), await fileDigests(src));
    assert.ok(fx.proxy.requests.map(classify).some((c) => c.cls === 'get' && dataPacks.has(c.key)));
  });
});

/** The latest snapshot restored into `out` with the proxy playing S3's archive (`sim`), its requests counted from a reset. */
async function restoreThrough(sim: GlacierSim, env: Record<string, string>, out: string): ReturnType<S3Fixture['run']> {
  fx.proxy.reset();
  fx.proxy.fault = sim.fault;
  try {
    return await fx.run(['restore', 'latest', '--target', out], { ...env, EBAK_S3_RESTORE_POLL_SECONDS: '0.05' });
  } finally {
    fx.proxy.fault = undefined;
  }
}

describe('restore requests', () => {
  it('a large file is read with one ranged GET per run of neighbouring blobs, not one per blob; no pack is HEADed', async () => {
    const src = join(dir, 'big-src');
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'big.bin'), randomBytes(40 << 20)); // ~35 blobs of ~1.2 MiB, in 2–3 packs
    const env = await initRepo(fx, dir, 'runs/r');
    assert.equal((await fx.run(['backup', src], env)).code, 0);
    fx.proxy.reset();
    const out = join(dir, 'runs-out');
    const r = await fx.run(['restore', 'latest', '--target', out], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await fileDigests(join(out, src)), await fileDigests(src));
    const ranged = fx.proxy.requests.filter((q) => q.method === 'GET' && q.headers.range !== undefined && classify(q).kind === 'data');
    // 40 MiB in reads of at most 8 MiB, split where a pack ends (plus one tree read): one per blob would be ~35.
    assert.ok(ranged.length >= 5 && ranged.length <= 12, `${ranged.length} ranged data GETs`);
    // Nothing archived: one listing of the data packs says so, and no pack is HEADed.
    const sent = fx.proxy.requests.map(classify);
    assert.equal(sent.filter((c) => c.cls === 'list' && c.kind === 'data').length, 1);
    assert.deepEqual(sent.filter((c) => c.cls === 'head' && c.kind === 'data'), []);
  });

  it('a restore of many packs learns their classes from one listing, HEADs only the archived one, and restores it', async () => {
    const src = join(dir, 'many-src');
    await mkdir(src, { recursive: true });
    for (let i = 0; i < 10; i++) await writeFile(join(src, `f${i}.bin`), randomBytes(8 << 20));
    const env = await initRepo(fx, dir, 'many/r');
    fx.proxy.reset();
    assert.equal((await fx.run(['backup', src, '--pack-size', '4'], env)).code, 0);
    const packs = fx.proxy.requests.map(classify).filter((c) => c.cls === 'put' && c.kind === 'data' && c.rec.body.length > 1 << 20).map((c) => c.key);
    assert.ok(packs.length >= 13, `${packs.length} data packs: enough that one listing is fewer requests than their HEADs`);
    const sim = new GlacierSim(new Set([packs[0]!]), 1);
    const out = join(dir, 'many-out');
    const r = await restoreThrough(sim, env, out);
    assert.equal(r.code, 0, r.stderr);
    const sent = fx.proxy.requests.map(classify);
    assert.equal(sent.filter((c) => c.cls === 'list' && c.kind === 'data').length, 1, 'one listing of the data packs');
    assert.deepEqual(sent.filter((c) => c.cls === 'head' && c.kind === 'data').map((c) => c.key), [packs[0], packs[0]], 'the archived pack HEADed, then polled once; no other');
    assert.deepEqual(sim.restoreRequests, [packs[0]]);
    assert.deepEqual(await fileDigests(join(out, src)), await fileDigests(src));
  });
});
