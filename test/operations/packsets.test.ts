/**
 * A backup on storage with Object Lock, in vault mode, needs the new
 * snapshot's packs twice: to extend their retention (retain.ts) and for the
 * vault's pack record (the head's flush). One PackSets per command walks the
 * snapshot's trees once for both: each tree is loaded once, and both get the
 * same packs. The storage here is the RetentionStorage port recording what
 * it is asked to extend (the S3 requests behind it: test/storage/objectlock.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { backup, PackSets } from '../../src/operations/index.js';
import type { RetentionStorage } from '../../src/operations/retain.js';
import { tempDir } from '../cli/harness.js';
import { localRepository } from './fixture.js';

const dir = await tempDir('ebak-packsets-');

describe('pack sets', () => {
  const t = localRepository(dir);

  it('the Object Lock extension and the vault record of one backup walk its trees once, and agree', async () => {
    const src = join(dir, 'src');
    for (let d = 0; d < 6; d++) {
      await mkdir(join(src, `d${d}`, 'sub'), { recursive: true });
      for (let f = 0; f < 5; f++) await writeFile(join(src, `d${d}`, f % 2 ? 'sub' : '', `f${f}`), `file ${d}/${f}\n`.repeat(200 * (f + 1)));
    }
    let loads = 0;
    const counted = { loadTree: (id: string) => (loads++, t.repo.loadTree(id)), loadTreeBlob: (id: string) => (loads++, t.repo.loadTreeBlob(id)), lookupBlob: t.repo.lookupBlob.bind(t.repo), loadSnapshot: t.repo.loadSnapshot.bind(t.repo) };
    const packSets = new PackSets(counted);
    const extended = new Set<string>();
    const storage: RetentionStorage = { extendRetention: async (h) => (extended.add(h.name), 'extended') };
    const res = await backup(t.repo, t.pool, { paths: [src], packSets, storage });
    const walked = loads;
    assert.ok(walked >= 13, `every tree was loaded once (${walked})`);
    const recorded = await packSets.ofSnapshot(res.id);
    assert.equal(loads, walked, 'the record walked no tree again');
    assert.deepEqual(recorded, [...extended].sort());
  });
});
