/**
 * A live, changing source never breaks a backup (issue 14, items 2, 4, 6):
 * files that shrink or grow while read, and files deleted or replaced (by a
 * directory, a symlink, a FIFO) between the walk and their open. Each change
 * is made at a fixed point of the backup (the first progress event of the
 * first large file), in-process on a real local repository, so the
 * interleaving is the same on every run. Every snapshot made restores.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, rmSync, symlinkSync, truncateSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { backup, check, restore } from '../../src/operations/index.js';
import { tempDir } from '../cli/harness.js';
import { localRepository } from './fixture.js';

const MiB = 1024 * 1024;
const dir = await tempDir('ebak-live-');
const t = localRepository(dir);

/** Backs up `src`, calling `change` once, at the first progress event; returns the warnings and the restore of the snapshot. */
async function backupWhile(src: string, change: () => void): Promise<{ warnings: string[]; out: string }> {
  const warnings: string[] = [];
  let changed = false;
  const r = await backup(t.repo, t.pool, {
    paths: [src],
    onEvent: (e) => {
      if (e.type === 'warning') warnings.push(e.message);
      if (e.type === 'progress' && !changed) {
        changed = true;
        change();
      }
    },
  });
  assert.ok(changed, 'the change was made during the backup');
  const out = join(dir, `out-${r.id.slice(0, 8)}`);
  await restore(t.repo, t.repo.blobReader(t.pool), { snapshot: r.id, target: out });
  const c = await check(t.repo, {});
  assert.deepEqual(c.errors, []);
  return { warnings, out };
}

describe('live source', () => {
  it('a file that shrinks or grows while it is read is recorded with what was read, named, and restores', async () => {
    const src = join(dir, 'grow-shrink');
    await mkdir(src);
    const shrinking = randomBytes(24 * MiB); // kept: the backup may read past where the file is cut before the cut
    await writeFile(join(src, 'a-shrinks.log'), shrinking);
    await writeFile(join(src, 'b-grows.log'), randomBytes(12 * MiB));
    const { warnings, out } = await backupWhile(src, () => {
      truncateSync(join(src, 'a-shrinks.log'), 3 * MiB);
      appendFileSync(join(src, 'b-grows.log'), randomBytes(4 * MiB));
    });
    assert.ok(warnings.some((w) => w.includes('a-shrinks.log') && /changed size/.test(w)), warnings.join('\n'));
    assert.ok(warnings.some((w) => w.includes('b-grows.log') && /changed size/.test(w)), warnings.join('\n'));
    const shrunk = await readFile(join(out, src, 'a-shrinks.log'));
    assert.ok(shrunk.length >= 3 * MiB && shrunk.equals(shrinking.subarray(0, shrunk.length)), 'a-shrinks.log restores as read');
    const grown = await readFile(join(out, src, 'b-grows.log'));
    assert.deepEqual(grown, (await readFile(join(src, 'b-grows.log'))).subarray(0, grown.length), 'b-grows.log restores as read');
  });

  it('files deleted or replaced by a directory, a symlink or a FIFO after the walk are skipped and named; the rest is saved', async () => {
    const src = join(dir, 'replaced');
    await mkdir(src);
    // Two large files take both big-file slots; the ones after them are opened only once a slot frees.
    await writeFile(join(src, 'a-first.bin'), randomBytes(8 * MiB));
    await writeFile(join(src, 'b-second.bin'), randomBytes(8 * MiB));
    for (const n of ['c-deleted', 'd-dir', 'e-link', 'f-fifo']) await writeFile(join(src, n), randomBytes(2 * MiB));
    await writeFile(join(src, 'g-kept.bin'), randomBytes(2 * MiB));
    const { warnings, out } = await backupWhile(src, () => {
      rmSync(join(src, 'c-deleted'));
      rmSync(join(src, 'd-dir'));
      mkdirSync(join(src, 'd-dir'));
      rmSync(join(src, 'e-link'));
      symlinkSync('/etc/hostname', join(src, 'e-link'));
      rmSync(join(src, 'f-fifo'));
      execFileSync('mkfifo', [join(src, 'f-fifo')]); // would block a plain open forever
    });
    for (const n of ['c-deleted', 'd-dir', 'e-link', 'f-fifo']) assert.ok(warnings.some((w) => w.includes(n)), `${n} named: ${warnings.join('\n')}`);
    assert.deepEqual(await readFile(join(out, src, 'g-kept.bin')), await readFile(join(src, 'g-kept.bin')));
    assert.equal((await stat(join(out, src, 'a-first.bin'))).size, 8 * MiB);
  });
});
