/**
 * The local metadata cache against the S3-protocol server, counted on the
 * proxy's record of every request: an unchanged re-backup makes at most 10
 * GETs with the cache (one per directory without it); a fresh cache fills
 * on its first run; the cache holds only ciphertext, exactly as stored; a
 * flipped bit in it is found and the object fetched again; a snapshot
 * forgotten by another machine leaves the cache on the next listing; and a
 * restore through the cache is byte-identical.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileDigests, tempDir } from '../cli/harness.js';
import { classify, deleteObject, getObject, initRepo, listKeys, startFixture, type S3Fixture } from './fixture.js';

const dir = await tempDir('ebak-s3-cache-');
const BUCKET = 'cache';
const DIRS = 24;
let fx: S3Fixture;
let env: Record<string, string>;
let src: string;

before(async () => {
  fx = await startFixture();
  src = join(dir, 'src');
  for (let i = 0; i < DIRS; i++) {
    await mkdir(join(src, `d${i}`, 'inner'), { recursive: true });
    await writeFile(join(src, `d${i}`, 'inner', 'f.txt'), `file ${i}\n`.repeat(100));
  }
  env = await initRepo(fx, dir, `${BUCKET}/r`, { EBAK_NO_CACHE: '' });
});
after(() => fx.stop());

/** Runs a command and returns the GETs the server saw, with their object kinds. */
async function gets(args: string[], extra: Record<string, string>): Promise<string[]> {
  fx.proxy.reset();
  const r = await fx.run(args, { ...env, ...extra });
  assert.equal(r.code, 0, r.stderr);
  return fx.proxy.requests.map(classify).filter((c) => c.cls === 'get').map((c) => c.kind);
}

/** The cache's folder of this repository (the only one under `cacheDir`). */
async function repoCache(cacheDir: string): Promise<string> {
  const ids = (await readdir(cacheDir)).filter((n) => n !== 'CACHEDIR.TAG');
  assert.equal(ids.length, 1);
  return join(cacheDir, ids[0]!);
}

describe('local metadata cache on S3', { concurrency: false }, () => {
  const cacheDir = join(dir, 'cache');
  const cached = { EBAK_CACHE_DIR: cacheDir };

  it('an unchanged re-backup makes at most 10 GETs; without the cache one per directory', async () => {
    await gets(['backup', src], cached);
    const withCache = await gets(['backup', src], cached);
    // Listings are GET requests to S3 too (and billed alike): the bar counts them with the object reads.
    const all = fx.proxy.requests.filter((r) => r.method === 'GET').map(classify);
    assert.ok(all.length <= 10, `${all.length} GETs: ${all.map((c) => `${c.cls} ${c.kind}`).join(', ')}`);
    assert.equal(withCache.filter((k) => k === 'config').length, 1, 'the config is read once');
    assert.deepEqual(withCache.filter((k) => k === 'data' || k === 'index' || k === 'snapshots'), []);
    const without = await gets(['backup', src, '--no-cache'], cached);
    assert.ok(without.filter((k) => k === 'data').length > DIRS, `${without.length} GETs without the cache`);
  });

  it('holds the stored bytes of snapshots, index files and tree packs, and nothing else', async () => {
    const repo = await repoCache(cacheDir);
    const stored = new Set(await listKeys(fx, BUCKET, 'r/'));
    const files: Record<string, number> = {};
    for (const type of await readdir(repo)) {
      assert.ok(['snapshots', 'index', 'data'].includes(type), type);
      for (const name of await readdir(join(repo, type))) {
        const key = [...stored].find((k) => k.startsWith(`r/${type}/`) && k.endsWith(name))!;
        assert.ok(key, `${type}/${name} is in the bucket`);
        assert.deepEqual(await readFile(join(repo, type, name)), await getObject(fx, BUCKET, key));
        files[type] = (files[type] ?? 0) + 1;
      }
    }
    // The snapshots of the two cached runs (not the --no-cache one); the index files and tree packs they wrote
    // (how many depends on how the randomised packer spread the trees).
    assert.equal(files.snapshots, 2);
    assert.ok((files.index ?? 0) >= 1 && (files.data ?? 0) >= 1, JSON.stringify(files));
  });

  it('a fresh cache fills on its first run: the next re-backup makes at most 10 GETs', async () => {
    const fresh = { EBAK_CACHE_DIR: join(dir, 'fresh') };
    const first = await gets(['backup', src], fresh);
    assert.ok(first.filter((k) => k === 'data').length >= 1, 'tree packs were fetched');
    assert.ok((await gets(['backup', src], fresh)).length <= 10);
  });

  it('a flipped bit in a cached file is found; the object is fetched again and the run succeeds', async () => {
    const repo = await repoCache(cacheDir);
    for (const type of ['index', 'data']) {
      const name = (await readdir(join(repo, type)))[0]!;
      const bytes = await readFile(join(repo, type, name));
      bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
      await writeFile(join(repo, type, name), bytes);
    }
    const refetched = await gets(['backup', src], cached);
    assert.ok(refetched.includes('index') && refetched.includes('data'), refetched.join(' '));
    assert.ok((await gets(['backup', src], cached)).length <= 10, 'the cache holds good bytes again');
  });

  it('a snapshot removed by another client leaves the cache when the snapshots are listed', async () => {
    const repo = await repoCache(cacheDir);
    const before = await readdir(join(repo, 'snapshots'));
    await deleteObject(fx, BUCKET, `r/snapshots/${before[0]!}`);
    await gets(['snapshots'], cached);
    assert.deepEqual((await readdir(join(repo, 'snapshots'))).sort(), before.slice(1).sort());
  });

  it('a restore reading trees through the cache is byte-identical, and reads no tree from the server', async () => {
    fx.proxy.reset();
    const out = join(dir, 'out');
    const r = await fx.run(['restore', 'latest', '--target', out], { ...env, ...cached });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await fileDigests(join(out, src)), await fileDigests(src));
    const treePacks = await readdir(join(await repoCache(cacheDir), 'data'));
    const dataGets = fx.proxy.requests.map(classify).filter((c) => c.cls === 'get' && c.kind === 'data');
    assert.ok(dataGets.length >= 1, 'file contents were read from the server');
    assert.deepEqual(dataGets.filter((c) => treePacks.some((t) => c.key.endsWith(t))), []);
  });
});
