/**
 * Issue 14, item 5: a hard-linked file that changes between the backup's
 * reads of its two names. Reproduced in-process (the only way to change the
 * file at a known point of a real backup): the two names are in two
 * directories, which the archiver reads one after the other, and the file is
 * rewritten in place (same inode) when the first name's bytes are stored.
 * The snapshot then records two different files under one inode; restore
 * must give each name what was recorded for it, not link the second to the
 * first. Names recorded identically are still restored as one inode.
 */
import assert from 'node:assert/strict';
import { link, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { backup, restore } from '../../src/operations/index.js';
import { tempDir } from '../cli/harness.js';
import { localRepository } from './fixture.js';

const dir = await tempDir('ebak-hardlinks-');
const t = localRepository(dir);

it('a hard-linked file rewritten between the reads of its two names: each name comes back with what was recorded for it', async () => {
  const src = join(dir, 'changing');
  await mkdir(join(src, 'd1'), { recursive: true });
  await mkdir(join(src, 'd2'));
  await writeFile(join(src, 'd1', 'f'), 'first\n');
  await link(join(src, 'd1', 'f'), join(src, 'd2', 'f'));
  let rewritten = false;
  const res = await backup(t.repo, t.pool, {
    paths: [src],
    onEvent: (e) => {
      if (e.type !== 'progress' || rewritten) return;
      rewritten = true;
      writeFileSync(join(src, 'd1', 'f'), 'second, longer\n'); // in place: the same inode, so both names
    },
  });
  assert.ok(rewritten);
  const out = join(dir, 'out-changing');
  const r = await restore(t.repo, t.repo.blobReader(t.pool), { snapshot: res.id, target: out });
  assert.equal(r.errors, 0);
  const got = await Promise.all(['d1', 'd2'].map((d) => readFile(join(out, src, d, 'f'), 'utf8')));
  assert.deepEqual(got.sort(), ['first\n', 'second, longer\n'], 'neither recorded version is dropped');
});

it('names of an unchanged hard-linked file are still restored as one inode', async () => {
  const src = join(dir, 'stable');
  await mkdir(join(src, 'd1'), { recursive: true });
  await mkdir(join(src, 'd2'));
  await writeFile(join(src, 'd1', 'f'), 'same\n');
  await link(join(src, 'd1', 'f'), join(src, 'd2', 'f'));
  const res = await backup(t.repo, t.pool, { paths: [src] });
  const out = join(dir, 'out-stable');
  await restore(t.repo, t.repo.blobReader(t.pool), { snapshot: res.id, target: out });
  const [a, b] = await Promise.all(['d1', 'd2'].map((d) => stat(join(out, src, d, 'f'))));
  assert.equal(a!.ino, b!.ino);
  assert.equal(a!.nlink, 2);
});
