/**
 * The local metadata cache (src/storage/cache.ts) around the real local
 * backend, on real disk, with the accounting wrapper below it counting what
 * reached storage: what is kept and what is not, hits that cost no request,
 * ranged reads of a tree pack served from the cached file, a flipped bit
 * found and fetched again, objects gone from storage dropped; and the
 * conformance suite through an attached cache.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AccountingBackend } from '../../src/storage/accounting.js';
import type { FileType, Handle } from '../../src/storage/backend.js';
import { CacheBackend } from '../../src/storage/cache.js';
import { LocalBackend } from '../../src/storage/local.js';
import { openBackend } from '../../src/storage/open.js';
import { collect, conformance, rejectsWith } from './conformance.js';

const REPO_ID = 'ab'.repeat(32);
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ebak-cache-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** Random bytes and the handle that names them, as the repository names objects. */
function object(type: FileType, bytes = randomBytes(4096)): { h: Handle; bytes: Buffer } {
  return { h: { type, name: createHash('sha256').update(bytes).digest('hex') }, bytes };
}

async function stack(name: string): Promise<{ cache: CacheBackend; counted: AccountingBackend; root: string }> {
  const local = new LocalBackend(join(dir, name, 'repo'));
  await local.create();
  const counted = new AccountingBackend(local);
  const cache = new CacheBackend(counted);
  const root = join(dir, name, 'cache');
  await cache.attach(root, REPO_ID);
  return { cache, counted, root };
}

const gets = (b: AccountingBackend) => b.counter.snapshot().get;

describe('local metadata cache', () => {
  it('keeps snapshots, index files and tree packs as the bytes storage holds, and nothing else', async () => {
    const { cache, root } = await stack('kept');
    const kept = [object('snapshots'), object('index'), object('data')];
    for (const o of kept) await cache.save(o.h, o.bytes, o.h.type === 'data' ? { packKind: 'tree' } : undefined);
    await cache.save(object('data').h, randomBytes(64), { packKind: 'data' });
    await cache.save(object('keys').h, randomBytes(64));
    await cache.save(object('locks').h, randomBytes(64));
    for (const o of kept) assert.deepEqual(await readFile(join(root, REPO_ID, o.h.type, o.h.name)), o.bytes);
    assert.deepEqual((await readdir(join(root, REPO_ID))).sort(), ['data', 'index', 'snapshots']);
    assert.deepEqual(await readdir(join(root, REPO_ID, 'data')), [kept[2]!.h.name]);
    assert.match(await readFile(join(root, 'CACHEDIR.TAG'), 'utf8'), /^Signature: 8a477f597d28d172789f06886806bc55/);
  });

  it('serves what it holds without a request, ranges of a tree pack included', async () => {
    const { cache, counted } = await stack('hits');
    const snap = object('snapshots');
    const tree = object('data', randomBytes(1 << 20));
    await cache.save(snap.h, snap.bytes);
    await cache.save(tree.h, tree.bytes, { packKind: 'tree' });
    const before = gets(counted);
    assert.deepEqual(await cache.load(snap.h), snap.bytes);
    const treeHandle = { ...tree.h, packKind: 'tree' as const };
    for (const offset of [0, 1000, (1 << 20) - 10]) assert.deepEqual(await cache.load(treeHandle, { offset, length: 10 }), tree.bytes.subarray(offset, offset + 10));
    assert.equal(gets(counted), before, 'no request reached storage');
    await rejectsWith(cache.load(treeHandle, { offset: (1 << 20) - 5, length: 10 }), 'CORRUPT');
  });

  it('reads ranges of a tree pack through one descriptor kept open, closed when the pack is removed or the cache closed', async () => {
    const { cache } = await stack('fds');
    const openFds = () => readdirSync('/proc/self/fd').length;
    const trees = [object('data', randomBytes(1 << 16)), object('data', randomBytes(1 << 16))];
    for (const t of trees) await cache.save(t.h, t.bytes, { packKind: 'tree' });
    const before = openFds();
    for (let i = 0; i < 50; i++) {
      for (const t of trees) assert.deepEqual(await cache.load({ ...t.h, packKind: 'tree' }, { offset: i * 100, length: 100 }), t.bytes.subarray(i * 100, i * 100 + 100));
    }
    assert.equal(openFds(), before + 2, 'one descriptor a pack, kept');
    await cache.remove(trees[0]!.h);
    assert.equal(openFds(), before + 1, 'the removed pack\'s closed');
    await cache.close();
    assert.equal(openFds(), before, 'the rest closed with the cache');
  });

  it('fetches a tree pack it lacks once, whole, on its first ranged read', async () => {
    const { cache, counted, root } = await stack('fill');
    const tree = object('data', randomBytes(200_000));
    await counted.save(tree.h, tree.bytes, { packKind: 'tree' }); // written by another machine
    const h = { ...tree.h, packKind: 'tree' as const };
    assert.deepEqual(await cache.load(h, { offset: 5, length: 100 }), tree.bytes.subarray(5, 105));
    assert.deepEqual(await cache.load(h, { offset: 500, length: 100 }), tree.bytes.subarray(500, 600));
    assert.equal(gets(counted), 1);
    assert.equal(counted.counter.snapshot().bytesDown, tree.bytes.length);
    assert.deepEqual(await readFile(join(root, REPO_ID, 'data', tree.h.name)), tree.bytes);
    // A data pack (no tree hint) is always read from storage.
    await cache.load(tree.h, { offset: 0, length: 10 });
    assert.equal(gets(counted), 2);
  });

  it('discards a cached file whose bytes no longer hash to its name, and fetches it again', async () => {
    const { counted, root } = await stack('flip');
    const idx = object('index');
    const first = new CacheBackend(counted);
    await first.attach(root, REPO_ID);
    await first.save(idx.h, idx.bytes);
    const path = join(root, REPO_ID, 'index', idx.h.name);
    const flipped = Buffer.from(idx.bytes);
    flipped[1234]! ^= 0x10;
    await writeFile(path, flipped);
    const next = new CacheBackend(counted); // a later run: nothing verified in this process yet
    await next.attach(root, REPO_ID);
    const before = gets(counted);
    assert.deepEqual(await next.load(idx.h), idx.bytes);
    assert.equal(gets(counted), before + 1, 'fetched from storage');
    assert.deepEqual(await readFile(path), idx.bytes, 'the cache holds the good bytes again');
    assert.deepEqual(await next.load(idx.h), idx.bytes);
    assert.equal(gets(counted), before + 1);
  });

  it('drops objects removed through it, and those a complete listing shows gone from storage', async () => {
    const { cache, counted, root } = await stack('gone');
    const [a, b, c] = [object('snapshots'), object('snapshots'), object('snapshots')];
    for (const o of [a, b, c]) await cache.save(o.h, o.bytes);
    await cache.remove(a.h);
    await counted.remove(b.h); // another client's forget
    assert.deepEqual((await readdir(join(root, REPO_ID, 'snapshots'))).sort(), [b.h.name, c.h.name].sort());
    assert.deepEqual((await collect(cache.list('snapshots'))).map((f) => f.name), [c.h.name]);
    assert.deepEqual(await readdir(join(root, REPO_ID, 'snapshots')), [c.h.name]);
  });

  it('caches nothing until attached, and refuses a repository id that is not hex', async () => {
    const local = new LocalBackend(join(dir, 'idle', 'repo'));
    await local.create();
    const cache = new CacheBackend(local);
    const s = object('snapshots');
    await cache.save(s.h, s.bytes);
    await assert.rejects(readdir(join(dir, 'idle', 'cache')), { code: 'ENOENT' });
    await rejectsWith(cache.attach(join(dir, 'idle', 'cache'), '../escape'), 'USAGE');
  });
});

conformance('local via openBackend with a cache', async () => {
  const d = await mkdtemp(join(dir, 'conf-'));
  const b = await openBackend(join(d, 'repo'), {}, { cacheDir: join(d, 'cache') });
  await b.useCache(REPO_ID);
  return b;
});
