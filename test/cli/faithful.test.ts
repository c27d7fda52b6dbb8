/**
 * Faithful backups of real systems (issue 14): what was there comes back.
 * Each case was reproduced against the code before its fix.
 */
import assert from 'node:assert/strict';
import { mkdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ebak, newRepo, tempDir } from './harness.js';

describe('faithful backups', () => {
  it('a file dated before 1970 (and a directory that old) backs up, lists and restores with its time; its siblings too', async () => {
    const dir = await tempDir();
    const src = join(dir, 'src');
    await mkdir(join(src, 'old-dir'), { recursive: true });
    await writeFile(join(src, 'old-dir', '1960.txt'), 'from 1960\n');
    await writeFile(join(src, 'old-dir', 'sibling.txt'), 'recent\n');
    const then = new Date('1960-06-15T12:34:56.789Z');
    await utimes(join(src, 'old-dir', '1960.txt'), then, then);
    await utimes(join(src, 'old-dir'), then, then);
    await utimes(src, then, then); // the backed-up directory itself: its tree is the snapshot's root
    const { env } = await newRepo(dir);
    const b = await ebak(['backup', src], env);
    assert.equal(b.code, 0, b.stderr);
    const ls = await ebak(['ls', 'latest'], env);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /1960\.txt/);
    const out = join(dir, 'out');
    const r = await ebak(['restore', 'latest', '--target', out], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await stat(join(out, src, 'old-dir', '1960.txt'))).mtime.getTime(), then.getTime());
    assert.equal((await stat(join(out, src, 'old-dir'))).mtime.getTime(), then.getTime());
    assert.equal((await stat(join(out, src, 'old-dir', 'sibling.txt'))).size, 7);
    const c = await ebak(['check', '--read-data'], env);
    assert.equal(c.code, 0, c.stdout + c.stderr);
  });

  it('a target or repository under a directory that refuses new entries (/proc) is one error line, at once (Node\'s recursive mkdir spins there)', async () => {
    const dir = await tempDir();
    const init = await ebak(['init', '-r', '/proc/ebak-nope/repo'], { EBAK_PASSWORD: 'pw' });
    assert.equal(init.code, 1, init.stderr);
    assert.match(init.stderr, /proc/);
    const src = join(dir, 'src');
    await mkdir(src);
    await writeFile(join(src, 'f'), 'x');
    const { env } = await newRepo(dir);
    assert.equal((await ebak(['backup', src], env)).code, 0);
    const r = await ebak(['restore', 'latest', '--target', '/proc/ebak-nope/out'], env);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /does not accept new directories/);
  });
});
