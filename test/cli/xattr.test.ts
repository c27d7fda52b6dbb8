/**
 * Extended attributes through the real CLI (issue 14, item 9): user.*
 * attributes with binary and empty values, an ACL, a default ACL on a
 * directory, a file capability, an entry under a directory whose name is not
 * UTF-8; restored byte-identical, unchanged on a second backup, "changed"
 * when one changes. The tests run as root; one restore runs as `nobody`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setAttributeSync } from '@napi-rs/xattr';
import { readXattrs } from '../../src/util/xattr.js';
import { backupSummary, ebak, newRepo, restoreAsNobody, tempDir } from './harness.js';

const UNDEFINED_ID = 0xffffffff;

/** A POSIX ACL as the kernel stores it (version 2, then tag, perm, id per entry): owner rw, user 1000 r, group r, mask r, other none. */
function aclBlob(): Buffer {
  const entries = [[0x01, 6, UNDEFINED_ID], [0x02, 4, 1000], [0x04, 4, UNDEFINED_ID], [0x10, 4, UNDEFINED_ID], [0x20, 0, UNDEFINED_ID]] as const;
  const b = Buffer.alloc(4 + 8 * entries.length);
  b.writeUInt32LE(2, 0);
  entries.forEach(([tag, perm, id], i) => {
    b.writeUInt16LE(tag, 4 + 8 * i);
    b.writeUInt16LE(perm, 6 + 8 * i);
    b.writeUInt32LE(id, 8 + 8 * i);
  });
  return b;
}

/** VFS_CAP_REVISION_2 with cap_net_raw (bit 13) permitted and effective. */
const CAPABILITY = Buffer.from('0100000200200000000000000000000000000000', 'hex');
const BINARY = Buffer.from([0x00, 0xff, 0x01, 0xfe, 0x0a, 0x00]);
const NON_UTF8_DIR = Buffer.from('d\xfe', 'latin1');

const set = (path: string | Buffer, name: string, value: Buffer) => setAttributeSync(path.toString(), name, value);
const xattrsOf = (path: Buffer, isDir = false) => {
  const r = readXattrs(path, isDir);
  assert.deepEqual(r.problems, []);
  return r.xattrs.map((x) => [x.name.toString(), x.value.toString('hex')]);
};
const under = (...parts: (string | Buffer)[]) => Buffer.concat(parts.flatMap((p, i) => (i ? [Buffer.from('/'), Buffer.from(p)] : [Buffer.from(p)])));

const dir = await tempDir();
const src = join(dir, 'src');

/** The refusal case needs /dev/shm (tmpfs: 60 KB values) and a temporary directory refusing them (ext4: one block). */
function bigValueSkip(): string | false {
  if (!existsSync('/dev/shm')) return 'no /dev/shm (tmpfs) here';
  const probe = join(dir, 'probe');
  writeFileSync(probe, '');
  try {
    set(probe, 'user.big', Buffer.alloc(60_000));
    return 'the temporary directory takes 60 KB attribute values';
  } catch {
    return false;
  } finally {
    rmSync(probe);
  }
}

describe('extended attributes', () => {
  let env: Record<string, string>;

  before(async () => {
    await chmod(dir, 0o755); // nobody restores below it
    await mkdir(src);
    await writeFile(join(src, 'tool'), '#!/bin/sh\n');
    set(join(src, 'tool'), 'user.binary', BINARY);
    set(join(src, 'tool'), 'user.empty', Buffer.alloc(0));
    set(join(src, 'tool'), 'system.posix_acl_access', aclBlob());
    set(join(src, 'tool'), 'security.capability', CAPABILITY);
    await mkdir(join(src, 'shared'));
    set(join(src, 'shared'), 'user.dir', BINARY);
    set(join(src, 'shared'), 'system.posix_acl_default', aclBlob());
    await mkdir(under(src, NON_UTF8_DIR));
    await writeFile(under(src, NON_UTF8_DIR, 'inner'), 'inner\n');
    execFileSync('python3', ['-c', `import os; os.setxattr(bytes.fromhex('${under(src, NON_UTF8_DIR, 'inner').toString('hex')}'), b'user.inner', b'\\x01'); os.setxattr(bytes.fromhex('${under(src, NON_UTF8_DIR).toString('hex')}'), b'user.outer', b'\\x02')`]);
    await symlink('tool', join(src, 'link'));
    ({ env } = await newRepo(dir));
    const bk = await ebak(['backup', src], env);
    assert.equal(bk.code, 0, bk.stderr);
    assert.equal(bk.stderr, '');
    assert.match(bk.stdout, /Files: 2 new/);
  });

  it('as root: every attribute is restored byte-identical (ACLs, a file capability, binary and empty values, a directory and a non-UTF-8 path), times kept', async () => {
    const out = join(dir, 'out');
    const r = await ebak(['restore', 'latest', '--target', out], env);
    assert.equal(r.code, 0, r.stderr);
    const got = join(out, src); // snapshots hold the full source path
    const tool = xattrsOf(Buffer.from(join(got, 'tool')));
    assert.deepEqual(tool.map(([n]) => n), ['security.capability', 'system.posix_acl_access', 'user.binary', 'user.empty']);
    assert.deepEqual(tool, xattrsOf(Buffer.from(join(src, 'tool'))));
    assert.deepEqual(tool.find(([n]) => n === 'security.capability')![1], CAPABILITY.toString('hex'));
    assert.deepEqual(xattrsOf(Buffer.from(join(got, 'shared')), true), xattrsOf(Buffer.from(join(src, 'shared')), true));
    assert.deepEqual(xattrsOf(Buffer.from(join(got, 'shared')), true).map(([n]) => n), ['system.posix_acl_default', 'user.dir']);
    assert.deepEqual(xattrsOf(under(got, NON_UTF8_DIR), true), [['user.outer', '02']]);
    assert.deepEqual(xattrsOf(under(got, NON_UTF8_DIR, 'inner')), [['user.inner', '01']]);
    assert.equal(await readFile(join(got, 'tool'), 'utf8'), '#!/bin/sh\n');
    for (const name of ['tool', 'shared']) assert.ok(Math.abs((await lstat(join(got, name))).mtimeMs - (await lstat(join(src, name))).mtimeMs) < 1, name); // utimes keeps microseconds
  });

  it('not as root: ACLs and user.* are set, security.* is left out without an error (as setuid bits are)', async () => {
    const { r, target } = await restoreAsNobody(env, dir);
    assert.equal(r.code, 0, r.stderr);
    const tool = xattrsOf(Buffer.from(join(target, src, 'tool')));
    assert.deepEqual(tool.map(([n]) => n), ['system.posix_acl_access', 'user.binary', 'user.empty']);
  });

  it('a second backup finds them unchanged; a changed attribute makes its file changed', async () => {
    const again = await ebak(['backup', src], env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Files: 0 new, 0 changed, 2 unmodified/);
    set(join(src, 'tool'), 'user.binary', Buffer.from('other'));
    const changed = await ebak(['backup', '--json', src], env);
    assert.equal(changed.code, 0, changed.stderr);
    const s = backupSummary(changed) as { files_changed: number; files_unmodified: number };
    assert.deepEqual([s.files_changed, s.files_unmodified], [1, 1]);
  });

  it('an attribute name that is not UTF-8 (the binding cannot list it): a warning naming the file, which is still backed up', async () => {
    const d = await tempDir();
    const s = join(d, 'src');
    await mkdir(s);
    await writeFile(join(s, 'odd'), 'odd\n');
    execFileSync('python3', ['-c', `import os; os.setxattr(${JSON.stringify(join(s, 'odd'))}, b'user.\\xff', b'v')`]);
    const { env: e } = await newRepo(d);
    const bk = await ebak(['backup', '--json', s], e);
    assert.equal(bk.code, 0, bk.stderr);
    assert.equal(bk.stderr.split('\n').filter((l) => l.includes('warning') && l.includes('odd')).length, 1, bk.stderr);
    assert.equal((backupSummary(bk) as { files_new: number }).files_new, 1);
  });

  it('an attribute the target file system refuses (a 60 KB value from tmpfs onto ext4): a warning and an error each (exit 3), the entry kept with the rest', { skip: bigValueSkip() }, async () => {
    const shm = await mkdtemp('/dev/shm/ebak-test-');
    after(() => rm(shm, { recursive: true, force: true }));
    const s = join(shm, 'src');
    await mkdir(join(s, 'sub'), { recursive: true });
    await writeFile(join(s, 'big'), 'big\n');
    for (const p of [join(s, 'big'), join(s, 'sub')]) {
      set(p, 'user.big', Buffer.alloc(60_000, 1));
      set(p, 'user.small', BINARY);
    }
    const d = await tempDir(); // on /tmp: ext4 here, whose values fit in one block
    const { env: e } = await newRepo(d);
    const bk = await ebak(['backup', s], e);
    assert.equal(bk.code, 0, bk.stderr);
    const out = join(d, 'out');
    const r = await ebak(['restore', 'latest', '--target', out], e);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stderr.split('\n').filter((l) => l.includes('warning') && l.includes('user.big')).length, 2, r.stderr);
    assert.equal(await readFile(join(out, s, 'big'), 'utf8'), 'big\n');
    for (const name of ['big', 'sub']) assert.deepEqual(xattrsOf(Buffer.from(join(out, s, name)), name === 'sub'), [['user.small', BINARY.toString('hex')]]);
  });
});
