/**
 * `ebak cat` of every object type through the real CLI: each decrypts and
 * authenticates what it prints (a blob comes back as the file's bytes, a
 * tree as its entries), a pack is its stored bytes, the master key is never
 * printed, and bad input is one line.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { sha256 } from '../../src/crypto/index.js';
import { assertCode, assertFailed, backupSummary, ebak, newRepo, repoFiles, tempDir } from './harness.js';

const dir = await tempDir('ebak-cat-');
const { env } = await newRepo(dir);
const src = join(dir, 'src');
await mkdir(join(src, 'sub'), { recursive: true });
const content = randomBytes(5000);
await writeFile(join(src, 'sub', 'f.bin'), content);
const b = await ebak(['backup', src, '--json'], env);
assert.equal(b.code, 0, b.stderr);
const snapshotId = (backupSummary(b) as { snapshot_id: string }).snapshot_id;
/** The source's path in the snapshot's tree, as `ls` shows it (the full path, or the base name in older builds). */
const base = (await ebak(['ls', snapshotId], env)).stdout.split('\n').find((l) => l.endsWith('/sub/f.bin'))!.slice(0, -'/sub/f.bin'.length);

async function cat(args: string[]): Promise<string> {
  const r = await ebak(['cat', ...args], env);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

describe('ebak cat', () => {
  it('snapshot, tree at a path, and the file\'s blob through the index', async () => {
    const snap = JSON.parse(await cat(['snapshot', snapshotId.slice(0, 8)])) as { tree: string };
    const root = JSON.parse(await cat(['tree', snapshotId])) as { name: string }[];
    assert.deepEqual(root.map((n) => n.name), [base.split('/')[1]]);
    const sub = JSON.parse(await cat(['tree', `${snapshotId}:${base}/sub`])) as { name: string; content: string[] }[];
    assert.equal(sub[0]!.name, 'f.bin');
    const r = await ebak(['cat', 'blob', sub[0]!.content[0]!], env);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Buffer.from(r.stdout, 'latin1').length > 0);
    assert.ok(snap.tree);
  });

  it('a blob is the plaintext bytes, a pack its stored bytes', async () => {
    const sub = JSON.parse(await cat(['tree', `${snapshotId}:${base.slice(1)}/sub`])) as { content: string[] }[];
    const blob = await ebakBytes(['cat', 'blob', sub[0]!.content[0]!]);
    assert.deepEqual(blob, content);
    const pack = (await repoFiles(env.EBAK_REPOSITORY!, 'data'))[0]!;
    const bytes = await ebakBytes(['cat', 'pack', basename(pack)]);
    assert.deepEqual(bytes, await readFile(pack));
    assert.equal(sha256(bytes).toString('hex'), basename(pack));
  });

  it('index and key decode to JSON naming what they hold', async () => {
    const index = (await readdir(join(env.EBAK_REPOSITORY!, 'index')))[0]!;
    const packs = JSON.parse(await cat(['index', index])) as { id: string; blobs: { type: string }[] }[];
    assert.ok(packs.some((p) => p.blobs.some((x) => x.type === 'tree')));
    assert.ok(packs.some((p) => p.blobs.some((x) => x.type === 'data')));
    const key = (await readdir(join(env.EBAK_REPOSITORY!, 'keys')))[0]!;
    assert.equal(typeof JSON.parse(await cat(['key', key.slice(0, 8)])), 'object');
  });

  it('refuses masterkey, unknown types, a missing id and a missing object with one line', async () => {
    assertFailed(await ebak(['cat', 'masterkey'], env), 1, 'key');
    assertFailed(await ebak(['cat', 'bogus', 'x'], env), 1);
    assertFailed(await ebak(['cat', 'snapshot'], env), 1);
    assertCode(await ebak(['cat', 'blob', '0'.repeat(64), '--json'], env), 1, 'NOT_FOUND');
    assertFailed(await ebak(['cat', 'tree', `${snapshotId}:${base}/nope`], env), 1, 'nope');
  });
});

/** The CLI's stdout as bytes. */
async function ebakBytes(args: string[]): Promise<Buffer> {
  const { spawn } = await import('node:child_process');
  const { BIN } = await import('./harness.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    const parts: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => parts.push(d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(parts)) : reject(new Error(`exit ${code}`))));
  });
}
