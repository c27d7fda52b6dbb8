/**
 * Faithful backups of what real systems hold (issue 14, items 3 and 9),
 * through the real CLI: names and link targets that are not UTF-8, FIFOs,
 * devices and sockets, setuid/setgid bits. The tests run as root; the
 * non-root restore runs the CLI child as `nobody` (setpriv).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, lstat, mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { scan } from '../../src/archiver/scan.js';
import { backupSummary, ebak, lsNodes, newRepo, restoreAsNobody, tempDir } from './harness.js';

const b = (s: string) => Buffer.from(s, 'latin1');
const under = (dir: string, name: Buffer) => Buffer.concat([Buffer.from(dir + '/'), name]);
const names = async (dir: string) => (await readdir(dir, { encoding: 'buffer' })).map((n) => n.toString('latin1')).sort();

describe('names as bytes', () => {
  it('a name that is not UTF-8 beside its U+FFFD look-alike: two files, each with its own bytes; a directory and a link target of such bytes too', async () => {
    const dir = await tempDir();
    const src = join(dir, 'src');
    await mkdir(src);
    await writeFile(under(src, b('a\xff')), 'invalid\n');
    await writeFile(join(src, 'a\uFFFD'), 'valid\n');
    await mkdir(under(src, b('d\xfe')));
    await writeFile(Buffer.concat([under(src, b('d\xfe')), b('/inside')]), 'inside\n');
    await symlink(b('t\xfe'), join(src, 'link'));
    assert.equal((await scan([src])).files, 3, 'the progress scan counts them all');
    const { env } = await newRepo(dir);
    const bk = await ebak(['backup', src], env);
    assert.equal(bk.code, 0, bk.stderr);
    assert.match(bk.stdout, /Files: 3 new/);
    const out = join(dir, 'out');
    const r = await ebak(['restore', 'latest', '--target', out], env);
    assert.equal(r.code, 0, r.stderr);
    const got = join(out, src); // snapshots hold the full source path
    assert.deepEqual(await names(got), ['a\xef\xbf\xbd', 'a\xff', 'd\xfe', 'link'].sort());
    assert.equal(await readFile(under(got, b('a\xff')), 'utf8'), 'invalid\n');
    assert.equal(await readFile(join(got, 'a\uFFFD'), 'utf8'), 'valid\n');
    assert.equal(await readFile(Buffer.concat([under(got, b('d\xfe')), b('/inside')]), 'utf8'), 'inside\n');
    assert.deepEqual(await readlink(join(got, 'link'), { encoding: 'buffer' }), b('t\xfe'));
    const c = await ebak(['check', '--read-data'], env);
    assert.equal(c.code, 0, c.stdout + c.stderr);
    const again = await ebak(['backup', src], env); // each name finds its own entry in the parent
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Files: 0 new, 0 changed, 3 unmodified/);
  });
});

// Made here, not in before(): a tempDir made inside a hook is removed when the hook ends.
const dir = await tempDir();

describe('special files and setuid bits', () => {
  let src: string;
  let env: Record<string, string>;
  let server: Server;
  let summary: { files_new: number; files_unreadable: number };

  before(async () => {
    await chmod(dir, 0o755); // nobody restores below it
    src = join(dir, 'src');
    await mkdir(src);
    execFileSync('mkfifo', ['-m', '0640', join(src, 'fifo')]);
    execFileSync('mknod', ['-m', '0666', join(src, 'null'), 'c', '1', '3']);
    execFileSync('mknod', ['-m', '0660', join(src, 'loop'), 'b', '7', '200']);
    server = createServer();
    await new Promise<void>((res) => server.listen(join(src, 'sock'), res));
    await writeFile(join(src, 'suid'), '#!/bin/sh\n');
    await chmod(join(src, 'suid'), 0o4755);
    await mkdir(join(src, 'shared'));
    await chmod(join(src, 'shared'), 0o2775);
    ({ env } = await newRepo(dir));
    const bk = await ebak(['backup', '--json', src], env);
    assert.equal(bk.code, 0, bk.stderr);
    summary = backupSummary(bk) as typeof summary;
  });
  after(() => new Promise<void>((res) => server.close(() => res())));

  it('backup records FIFOs, devices and sockets and counts them, with no warning', () => {
    assert.equal(summary.files_new, 5); // fifo, null, loop, sock, suid
    assert.equal(summary.files_unreadable, 0);
  });

  it('ls shows each with its type', async () => {
    const ls = await ebak(['ls', '--json', 'latest'], env);
    assert.equal(ls.code, 0, ls.stderr);
    const types = Object.fromEntries(lsNodes(ls).map((e) => [e.path.split('/').pop(), e.type]));
    assert.deepEqual([types.fifo, types.null, types.loop, types.sock], ['fifo', 'chardev', 'blockdev', 'socket']);
  });

  it('as root: FIFOs and devices come back with their mode, owner and rdev; a socket is not recreated (as restic); setuid/setgid kept', async () => {
    const out = join(dir, 'out-root');
    const r = await ebak(['restore', 'latest', '--target', out], env);
    assert.equal(r.code, 0, r.stderr);
    const got = join(out, src); // snapshots hold the full source path
    assert.deepEqual(await names(got), ['fifo', 'loop', 'null', 'shared', 'suid']);
    const fifo = await lstat(join(got, 'fifo'));
    assert.ok(fifo.isFIFO());
    assert.equal(fifo.mode & 0o7777, 0o640);
    const [srcNull, gotNull, srcLoop, gotLoop] = await Promise.all([lstat(join(src, 'null')), lstat(join(got, 'null')), lstat(join(src, 'loop')), lstat(join(got, 'loop'))]);
    assert.ok(gotNull.isCharacterDevice() && gotLoop.isBlockDevice());
    assert.deepEqual([gotNull.rdev, gotNull.mode & 0o7777, gotLoop.rdev, gotLoop.mode & 0o7777], [srcNull.rdev, 0o666, srcLoop.rdev, 0o660]);
    assert.equal((await lstat(join(got, 'suid'))).mode & 0o7777, 0o4755);
    assert.equal((await lstat(join(got, 'shared'))).mode & 0o7777, 0o2775);
    assert.equal((await readdir(out)).length, 1, 'no temporary name left in the target');
  });

  it('not as root: FIFOs are made, devices reported (exit 3), setuid/setgid cleared (as tar does)', async () => {
    const { r, target } = await restoreAsNobody(env, dir);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stderr.split('\n').filter((l) => l.includes('warning')).length, 2, r.stderr); // null and loop
    const got = join(target, src);
    assert.deepEqual(await names(got), ['fifo', 'shared', 'suid']);
    assert.ok((await lstat(join(got, 'fifo'))).isFIFO());
    assert.equal((await lstat(join(got, 'suid'))).mode & 0o7777, 0o755);
    assert.equal((await lstat(join(got, 'shared'))).mode & 0o7777, 0o775);
  });
});
