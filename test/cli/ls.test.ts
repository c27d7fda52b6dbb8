/**
 * `ebak ls` with restic's semantics (0.17+) through the real CLI: without a
 * directory every entry; with one, it and the entries directly in it;
 * `--recursive` everything below; `-l` restic's long line; `--json` NDJSON,
 * a snapshot line first (`struct_type: "snapshot"`) then one node line per
 * entry with restic's field names. A name that is not UTF-8: its bytes in
 * text output (ls, ls -l, find), U+FFFD in JSON, as restic.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BIN, backupSummary, ebak, lsNodes, ndjson, newRepo, tempDir } from './harness.js';

const dir = await tempDir('ebak-ls-');
const { env } = await newRepo(dir);
const src = join(dir, 'src');
await mkdir(join(src, 'sub', 'deeper'), { recursive: true });
await writeFile(join(src, 'a.txt'), 'hello\n');
await writeFile(join(src, 'sub', 'b.txt'), 'b');
await writeFile(join(src, 'sub', 'deeper', 'c.txt'), 'c');
await symlink('a.txt', join(src, 'link'));
const b = await ebak(['backup', src, '--json'], env);
assert.equal(b.code, 0, b.stderr);
const snapshotId = (backupSummary(b) as { snapshot_id: string }).snapshot_id;

const lines = async (args: string[]) => {
  const r = await ebak(['ls', 'latest', ...args], env);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean);
};

describe('ebak ls', () => {
  it('without a directory lists every entry, one path a line', async () => {
    const all = await lines([]);
    for (const p of [src, join(src, 'a.txt'), join(src, 'sub', 'deeper', 'c.txt'), join(src, 'link')]) assert.ok(all.includes(p), p);
  });

  it('with a directory lists it and its direct entries; --recursive everything below', async () => {
    assert.deepEqual(await lines([src]), [src, join(src, 'a.txt'), join(src, 'link'), join(src, 'sub')]);
    assert.deepEqual(await lines([join(src, 'sub')]), [join(src, 'sub'), join(src, 'sub', 'b.txt'), join(src, 'sub', 'deeper')]);
    assert.deepEqual(await lines([join(src, 'sub'), '--recursive']), [join(src, 'sub'), join(src, 'sub', 'b.txt'), join(src, 'sub', 'deeper'), join(src, 'sub', 'deeper', 'c.txt')]);
    assert.deepEqual(await lines([join(src, 'a.txt'), join(src, 'sub', 'deeper')]), [join(src, 'a.txt'), join(src, 'sub', 'deeper'), join(src, 'sub', 'deeper', 'c.txt')]);
  });

  it('-l prints the long line: mode, uid, gid, size, mtime, path, link target', async () => {
    const long = await lines([src, '-l']);
    assert.match(long[1]!, new RegExp(`^-rw-r--r-- +\\d+ +\\d+ +6 B \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d ${join(src, 'a.txt')}$`));
    assert.match(long[2]!, / -> a\.txt$/);
    assert.match(long[3]!, /^d/);
  });

  it('--json is NDJSON: the snapshot, then one node per entry', async () => {
    const r = await ebak(['ls', 'latest', join(src, 'sub'), '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const [first, ...rest] = ndjson(r.stdout);
    assert.equal(first!.struct_type, 'snapshot');
    assert.equal(first!.message_type, 'snapshot');
    assert.equal(first!.id, snapshotId);
    assert.equal(first!.short_id, snapshotId.slice(0, 8));
    for (const k of ['time', 'tree', 'paths', 'hostname', 'username']) assert.ok(k in first!, k);
    assert.deepEqual(rest.map((n) => n.path), [join(src, 'sub'), join(src, 'sub', 'b.txt'), join(src, 'sub', 'deeper')]);
    const file = rest[1]!;
    for (const k of ['name', 'type', 'path', 'uid', 'gid', 'size', 'mode', 'permissions', 'mtime', 'ctime', 'inode', 'links']) assert.ok(k in file, k);
    assert.equal(file.struct_type, 'node');
    assert.equal(file.size, 1);
    assert.ok(!('size' in rest[0]!), 'no size for a directory, as restic');
    assert.equal(lsNodes(await ebak(['ls', snapshotId.slice(0, 8), '--json'], env)).filter((n) => n.path.startsWith(src)).length, 7);
  });

  it('a directory that matches nothing is named in a warning (exit 0)', async () => {
    const r = await ebak(['ls', 'latest', join(src, 'nope')], env);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /warning: .*nope matches nothing/);
  });
});

describe('names that are not UTF-8 (ls, find)', () => {
  const raw = join(dir, 'raw');
  const b = (s: string) => Buffer.from(s, 'latin1');
  const under = (...parts: string[]) => b([raw, ...parts].join('/'));
  /** stdout as bytes (the harness reads it as UTF-8 text, which would replace them). */
  const stdoutBytes = (args: string[]) => new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, EBAK_NO_CACHE: '1', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(Buffer.concat(out).toString('latin1')) : reject(new Error(`exit ${code}`))));
  });

  it('text output prints the name\'s bytes (as restic); --json gives U+FFFD for each invalid byte (as restic\'s JSON)', async () => {
    await mkdir(under('d\xfe'), { recursive: true });
    await mkdir(under('d\xef\xbf\xbd')); // its U+FFFD look-alike: valid UTF-8
    await writeFile(under('d\xfe', 'a\xff'), 'x');
    await writeFile(under('d\xef\xbf\xbd', 'ok'), 'y');
    await symlink(b('t\xfd'), under('link'));
    assert.equal((await ebak(['backup', raw], env)).code, 0);
    const listed = (await stdoutBytes(['ls', 'latest', raw, '--recursive'])).split('\n').filter(Boolean);
    assert.deepEqual(listed, [raw, `${raw}/d\xef\xbf\xbd`, `${raw}/d\xef\xbf\xbd/ok`, `${raw}/d\xfe`, `${raw}/d\xfe/a\xff`, `${raw}/link`].sort());
    const long = (await stdoutBytes(['ls', 'latest', raw, '-l'])).split('\n').filter(Boolean);
    assert.ok(long.some((l) => l.endsWith(`${raw}/link -> t\xfd`)), long.join('\n'));
    const found = (await stdoutBytes(['find', 'a*'])).split('\n').filter((l) => l.startsWith(raw));
    assert.deepEqual(found, [`${raw}/d\xfe/a\xff`]);
    const json = lsNodes(await ebak(['ls', 'latest', raw, '--recursive', '--json'], env)).map((n) => n.path);
    assert.ok(json.includes(`${raw}/d\uFFFD/a\uFFFD`), json.join('\n'));
  });
});
