/**
 * `ebak copy` through the real CLI (restic's command): snapshots of a
 * repository with another password rebuilt in this one, restoring
 * byte-identical; a second copy uploads nothing; data this repository
 * already holds is not uploaded again; the source's password never opens
 * the target; bad input changes nothing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertFailed, ebak, fileDigests, newRepo, repoFiles, tempDir } from './harness.js';

const dir = await tempDir('ebak-copy-');
const source = (await newRepo(join(dir, 'a'), 'source password')).env;
const target = (await newRepo(join(dir, 'b'), 'target password')).env;
const src = join(dir, 'src');
await mkdir(join(src, 'sub'), { recursive: true });
await writeFile(join(src, 'sub', 'big.bin'), randomBytes(3 << 20));
await writeFile(join(src, 'small.txt'), 'one');
assert.equal((await ebak(['backup', src, '--tag', 'first'], source)).code, 0);
const firstDigests = await fileDigests(src);
await writeFile(join(src, 'small.txt'), 'two');
assert.equal((await ebak(['backup', src], source)).code, 0);
const fromSource = { ...target, EBAK_FROM_REPOSITORY: source.EBAK_REPOSITORY, EBAK_FROM_PASSWORD: source.EBAK_PASSWORD };

interface Listed { id: string; original?: string; tags: string[] }
const list = async (env: Record<string, string>) => JSON.parse((await ebak(['snapshots', '--json'], env)).stdout) as Listed[];

describe('ebak copy', () => {
  it('copies every snapshot; each restores byte-identical in the target and names its source id', async () => {
    const r = await ebak(['copy', '--json'], fromSource);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { copied: { source_snapshot_id: string; snapshot_id: string }[]; blobs_added: number };
    assert.equal(out.copied.length, 2);
    assert.ok(out.blobs_added > 3, 'data and trees uploaded');
    const copies = await list(target);
    const sources = await list(source);
    assert.deepEqual(copies.map((s) => s.original).sort(), sources.map((s) => s.id).sort());
    const first = copies.find((s) => s.tags.includes('first'))!;
    const out1 = join(dir, 'restore1');
    const rr = await ebak(['restore', first.id, '--target', out1], target);
    assert.equal(rr.code, 0, rr.stderr);
    const restored = await fileDigests(out1);
    for (const [path, digest] of firstDigests) assert.ok([...restored].some(([p, d]) => p.endsWith(path) && d === digest), path);
    assert.equal((await ebak(['check', '--read-data'], target)).code, 0);
  });

  it('a second copy uploads nothing', async () => {
    const before = await repoFiles(target.EBAK_REPOSITORY!, 'data');
    const r = await ebak(['copy', '--json'], fromSource);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { copied: unknown[]; skipped: number; blobs_added: number };
    assert.deepEqual([out.copied.length, out.skipped, out.blobs_added], [0, 2, 0]);
    assert.deepEqual(await repoFiles(target.EBAK_REPOSITORY!, 'data'), before);
  });

  it('a snapshot chosen by id, and data the target backed up itself is not uploaded twice', async () => {
    const other = (await newRepo(join(dir, 'c'), 'third')).env;
    assert.equal((await ebak(['backup', src], other)).code, 0); // the same big file, chunked with other's keys
    const sourceLatest = (await list(source)).at(-1)!.id;
    const r = await ebak(['copy', sourceLatest.slice(0, 8), '--from-repo', source.EBAK_REPOSITORY!, '--json'], { ...other, EBAK_FROM_PASSWORD: source.EBAK_PASSWORD });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { copied: unknown[] }).copied.length, 1);
  });

  it('refuses a missing source, a wrong source password, and never tries the target password on the source', async () => {
    const before = await list(target);
    assertFailed(await ebak(['copy'], target), 1, '--from-repo');
    assertFailed(await ebak(['copy'], { ...fromSource, EBAK_FROM_PASSWORD: 'wrong' }), 12);
    // No source password at all: the target's EBAK_PASSWORD must not be used for the source.
    assertFailed(await ebak(['copy', '--from-repo', source.EBAK_REPOSITORY!], { ...target, EBAK_PASSWORD: source.EBAK_PASSWORD! }), 1, 'no password');
    assert.deepEqual(await list(target), before);
  });
});
