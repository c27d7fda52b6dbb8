/**
 * Extended attributes of symlinks (issue #14, item 9), in-process: a link's
 * own attributes are backed up and restored on the link, never read from or
 * set on what it points to (lgetxattr/lsetxattr semantics), a dangling link
 * and a link under a directory whose name is not UTF-8 included. On Linux
 * user.* cannot be set on a symlink (the kernel refuses it); trusted.* can,
 * by root only (CAP_SYS_ADMIN): so this runs as root, and says why elsewhere.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { setAttributeSync } from '@napi-rs/xattr';
import { backup, restore } from '../../src/operations/index.js';
import type { TreeNode } from '../../src/repository/format/tree.js';
import { readXattrs } from '../../src/util/xattr.js';
import { walk } from '../../src/walker/index.js';
import { tempDir } from '../cli/harness.js';
import { localRepository } from './fixture.js';

const ROOT = process.getuid?.() === 0;
const BINARY = Buffer.from([0x00, 0xff, 0x01]);
const dir = await tempDir('ebak-xattr-links-');
const src = join(dir, 'src');
const bytes = (...parts: (string | number[] | Buffer)[]) => Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(typeof p === 'string' ? p : p))));
const odd = bytes(src, '/d', [0xfe]);

const attrs = (path: Buffer | string, isDir = false) => {
  const r = readXattrs(Buffer.from(path), isDir);
  assert.deepEqual(r.problems, []);
  return r.xattrs.map((x) => [x.name.toString(), x.value.toString('hex')]);
};

/** Sets an attribute on the link itself (Python's os.setxattr without following: the path may be any bytes). */
function setOnLink(path: Buffer, name: string, value: Buffer): void {
  execFileSync('python3', ['-c', `import os; os.setxattr(bytes.fromhex('${path.toString('hex')}'), b'${name}', bytes.fromhex('${value.toString('hex')}'), follow_symlinks=False)`]);
}

describe('extended attributes of symlinks', { skip: !ROOT && 'trusted.* attributes (the only kind a symlink can carry besides security.*) are set by root only' }, () => {
  before(async () => {
    await mkdir(odd, { recursive: true });
    await writeFile(join(src, 'target.txt'), 'target\n');
    setAttributeSync(join(src, 'target.txt'), 'user.file', Buffer.from('file'));
    await symlink('target.txt', join(src, 'link'));
    setAttributeSync(join(src, 'link'), 'trusted.link', BINARY);
    await symlink('/nonexistent/ebak', join(src, 'dangling'));
    setAttributeSync(join(src, 'dangling'), 'trusted.dangling', Buffer.from('d'));
    await symlink(Buffer.from('../target.txt'), bytes(odd, '/inner'));
    setOnLink(bytes(odd, '/inner'), 'trusted.inner', Buffer.from('i'));
  });
  const t = localRepository(dir);

  it('are stored on the link\'s node, and restored on the link, never on its target', async () => {
    assert.throws(() => setAttributeSync(join(src, 'link'), 'user.refused', Buffer.from('x')), /os error 1\b/, 'the kernel refuses user.* on a symlink');
    const warnings: string[] = [];
    const { id } = await backup(t.repo, t.pool, { paths: [src], onEvent: (e) => e.type === 'warning' && warnings.push(e.message) });
    assert.deepEqual(warnings, []);
    const nodes = new Map<string, TreeNode>();
    const { snapshot } = await t.repo.findSnapshot(id);
    await walk(t.repo, snapshot.tree, { node: (path, n) => void nodes.set(path.slice(src.length), n) });
    const stored = (rel: string) => (nodes.get(rel)?.xattrs ?? []).map((x) => [x.name.toString(), x.value.toString('hex')]);
    assert.deepEqual(stored('/link'), [['trusted.link', BINARY.toString('hex')]]);
    assert.deepEqual(stored('/dangling'), [['trusted.dangling', '64']]);
    assert.deepEqual(stored('/d\uFFFD/inner'), [['trusted.inner', '69']]);
    assert.deepEqual(stored('/target.txt'), [['user.file', Buffer.from('file').toString('hex')]], 'the target keeps its own, not the link\'s');

    await t.repo.loadIndex();
    const out = join(dir, 'out');
    const r = await restore(t.repo, t.repo.blobReader(t.pool), { snapshot: id, target: out });
    assert.equal(r.errors, 0);
    const at = (...parts: (string | number[] | Buffer)[]) => bytes(out, ...parts);
    assert.deepEqual(attrs(at(src, '/link')), [['trusted.link', BINARY.toString('hex')]]);
    assert.deepEqual(attrs(at(src, '/dangling')), [['trusted.dangling', '64']]);
    assert.deepEqual(attrs(at(src, '/d', [0xfe], '/inner')), [['trusted.inner', '69']]);
    assert.deepEqual(attrs(at(src, '/target.txt')), [['user.file', Buffer.from('file').toString('hex')]], 'nothing was set through the links');
  });
});
