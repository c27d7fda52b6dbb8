/** End to end through the CLI: backup and restore are byte-identical, incremental, partial. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, stat, symlink, utimes, writeFile, link, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { backupSummary, ebak, lsNodes, ndjson, newRepo, tempDir } from './harness.js';

/** A tree with the awkward cases: empty file and dir, a file above the max chunk, symlinks, unicode, deep nesting. */
async function makeTree(root: string): Promise<void> {
  await mkdir(join(root, 'empty-dir'), { recursive: true });
  await writeFile(join(root, 'zero'), '');
  await writeFile(join(root, 'hello.txt'), 'hello world\n');
  await writeFile(join(root, 'ünïcødé 文件 🎉.txt'), 'unicode name\n');
  const deep = join(root, ...Array.from({ length: 30 }, (_, i) => `d${i}`));
  await mkdir(deep, { recursive: true });
  await writeFile(join(deep, 'leaf'), 'deep');
  // Larger than the 8 MiB max chunk, half random (incompressible) and half repetitive.
  await writeFile(join(root, 'big.bin'), Buffer.concat([randomBytes(6 << 20), Buffer.alloc(5 << 20, 'abc')]));
  await symlink('hello.txt', join(root, 'link-rel'));
  await symlink('d0/d1', join(root, 'link-dir'));
  await writeFile(join(root, 'exec.sh'), '#!/bin/sh\n');
  await chmod(join(root, 'exec.sh'), 0o751);
  await link(join(root, 'hello.txt'), join(root, 'hardlink.txt'));
  await utimes(join(root, 'hello.txt'), new Date('2001-02-03T04:05:06Z'), new Date('2001-02-03T04:05:06Z'));
}

/** Path → (type, mode, size, content hash, link target, mtime in ms) for every entry. */
async function manifest(root: string, rel = ''): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of (await readdir(join(root, rel))).sort()) {
    const p = join(rel, name);
    const st = await lstat(join(root, p));
    if (st.isDirectory()) {
      out.set(p, `dir ${st.mode & 0o7777}`);
      for (const [k, v] of await manifest(root, p)) out.set(k, v);
    } else if (st.isSymbolicLink()) out.set(p, `link ${await readlink(join(root, p))}`);
    else out.set(p, `file ${st.mode & 0o7777} ${st.size} ${Math.floor(st.mtimeMs)} ${createHash('sha256').update(await readFile(join(root, p))).digest('hex')}`);
  }
  return out;
}

describe('backup and restore', () => {
  it('restores a byte-identical tree with metadata', async () => {
    const dir = await tempDir();
    const src = join(dir, 'src');
    await makeTree(src);
    const { env } = await newRepo(dir);
    const b = await ebak(['backup', src, '--json', '--tag', 'first'], env);
    assert.equal(b.code, 0, b.stderr);
    const summary = backupSummary(b);
    assert.equal(summary.files_new, 7);
    const r = await ebak(['restore', 'latest', '--target', join(dir, 'out')], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await manifest(join(dir, 'out', src)), await manifest(src));
    const hl = await stat(join(dir, 'out', src, 'hardlink.txt'));
    assert.equal(hl.ino, (await stat(join(dir, 'out', src, 'hello.txt'))).ino, 'hard links stay linked');
    const c = await ebak(['check', '--read-data'], env);
    assert.equal(c.code, 0, c.stdout + c.stderr);
  });

  it('does not re-read unchanged files and dedups across snapshots', async () => {
    const dir = await tempDir();
    const src = join(dir, 'src');
    await makeTree(src);
    const { env } = await newRepo(dir);
    assert.equal((await ebak(['backup', src], env)).code, 0);
    const again = backupSummary(await ebak(['backup', src, '--json'], env));
    assert.equal(again.files_unmodified, 7);
    assert.equal(again.files_new + again.files_changed, 0);
    assert.equal(again.bytes_processed, 0, 'nothing read again');
    assert.equal(again.data_blobs_added, 0);
    // A copy of the big file under a new name adds no data blobs (dedup by content).
    await writeFile(join(src, 'copy.bin'), await readFile(join(src, 'big.bin')));
    await writeFile(join(src, 'hello.txt'), 'changed\n');
    const third = backupSummary(await ebak(['backup', src, '--json'], env));
    assert.equal(third.files_new, 1);
    assert.equal(third.files_changed, 2, 'hello.txt and its hard link');
    assert.equal(third.data_blobs_added, 1, 'only the changed small file is new data');
    const snaps = JSON.parse((await ebak(['snapshots', '--json'], env)).stdout);
    assert.equal(snaps.length, 3);
    for (const k of ['id', 'short_id', 'time', 'hostname', 'paths', 'tags', 'tree']) assert.ok(k in snaps[0], k);
    assert.equal(snaps[2].parent, snaps[1].id);
    const diff = ndjson<{ message_type: string; path: string; modifier: string }>((await ebak(['diff', snaps[1].id, snaps[2].id, '--json'], env)).stdout);
    assert.deepEqual(diff.filter((c) => c.message_type === 'change'), [
      { message_type: 'change', path: `${src}/copy.bin`, modifier: '+' },
      { message_type: 'change', path: `${src}/hardlink.txt`, modifier: 'M' },
      { message_type: 'change', path: `${src}/hello.txt`, modifier: 'M' },
    ]);
  });

  it('restores only the included paths, and ls lists a subtree', async () => {
    const dir = await tempDir();
    const src = join(dir, 'src');
    await makeTree(src);
    const { env } = await newRepo(dir);
    await ebak(['backup', src], env);
    const r = await ebak(['restore', 'latest', '--target', join(dir, 'part'), '--include', `${src}/d0/d1`], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await readdir(join(dir, 'part', src)), ['d0']);
    assert.equal(await readFile(join(dir, 'part', src, ...Array.from({ length: 30 }, (_, i) => `d${i}`), 'leaf'), 'utf8'), 'deep');
    const ls = lsNodes(await ebak(['ls', 'latest', `${src}/d0/d1/d2`, '--recursive', '--json'], env));
    assert.equal(ls[0]!.path, `${src}/d0/d1/d2`);
    assert.ok(ls.every((e) => e.path.startsWith(`${src}/d0/d1/d2`)));
    assert.equal(ls.length, 29);
  });

  it('sets the snapshot time with --time and honours --exclude and --host', async () => {
    const dir = await tempDir();
    const src = join(dir, 'src');
    await makeTree(src);
    const { env } = await newRepo(dir);
    const b = await ebak(['backup', src, '--time', '2020-01-02T03:04:05Z', '--exclude', '*.bin', '--host', 'h1'], env);
    assert.equal(b.code, 0, b.stderr);
    const [s] = JSON.parse((await ebak(['snapshots', '--json'], env)).stdout);
    assert.equal(s.time, '2020-01-02T03:04:05.000Z');
    assert.equal(s.hostname, 'h1');
    const ls = lsNodes(await ebak(['ls', 'latest', '--json'], env));
    assert.ok(!ls.some((e) => e.path.endsWith('.bin')));
    assert.ok(ls.some((e) => e.path.endsWith('hello.txt')));
  });

  it('opens with the recovery key alone, and key add/list/remove work', async () => {
    const dir = await tempDir();
    const src = join(dir, 'src');
    await mkdir(src);
    await writeFile(join(src, 'f'), 'x');
    const { env, recoveryKey } = await newRepo(dir);
    await ebak(['backup', src], env);
    const rk = join(dir, 'rk');
    await writeFile(rk, recoveryKey + '\n');
    const viaRecovery = await ebak(['snapshots', '--json', '--recovery-key-file', rk], { EBAK_REPOSITORY: env.EBAK_REPOSITORY });
    assert.equal(viaRecovery.code, 0, viaRecovery.stderr);
    const pwFile = join(dir, 'pw2');
    await writeFile(pwFile, 'second password\n');
    const add = await ebak(['key', 'add', '--new-password-file', pwFile, '--json'], env);
    assert.equal(add.code, 0, add.stderr);
    const list = JSON.parse((await ebak(['key', 'list', '--json'], env)).stdout) as { id: string; kind: string }[];
    assert.deepEqual(list.map((k) => k.kind).sort(), ['password', 'password', 'recovery']);
    assert.equal((await ebak(['snapshots'], { ...env, EBAK_PASSWORD: undefined, EBAK_PASSWORD_FILE: pwFile })).code, 0);
    const first = list.find((k) => k.kind === 'password' && k.id !== JSON.parse(add.stdout).id)!;
    // The key this command opens with cannot remove itself (test/cli/locks.test.ts); the second password removes it.
    assert.equal((await ebak(['key', 'remove', first.id.slice(0, 8)], { ...env, EBAK_PASSWORD: undefined, EBAK_PASSWORD_FILE: pwFile })).code, 0);
    assert.equal((await ebak(['snapshots'], env)).code, 12, 'the removed password no longer opens');
  });
});
