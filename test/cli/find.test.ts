/**
 * `ebak find` through the real CLI: restic's matching (a name glob, or a
 * path glob when the pattern has "/"), case folding, the snapshot choice by
 * id or filter, the mtime bounds, restic's JSON shape, and one-line refusals.
 */
import assert from 'node:assert/strict';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertFailed, backupSummary, ebak, newRepo, tempDir } from './harness.js';

interface Found {
  snapshot: string;
  hits: number;
  matches: { path: string; name: string; type: string; struct_type: string; mtime: string }[];
}

const dir = await tempDir('ebak-find-');
const { env } = await newRepo(dir);
const src = join(dir, 'src');
await mkdir(join(src, 'docs', 'old'), { recursive: true });
await writeFile(join(src, 'README.md'), 'top');
await writeFile(join(src, 'docs', 'guide.MD'), 'guide');
await writeFile(join(src, 'docs', 'old', 'notes.txt'), 'notes');
await utimes(join(src, 'docs', 'old', 'notes.txt'), new Date('2001-02-03T00:00:00Z'), new Date('2001-02-03T00:00:00Z'));
const first = await ebak(['backup', src, '--host', 'alpha', '--json'], env);
assert.equal(first.code, 0, first.stderr);
const firstId = (backupSummary(first) as { snapshot_id: string }).snapshot_id;
await writeFile(join(src, 'later.md'), 'later');
const second = await ebak(['backup', src, '--host', 'beta', '--json'], env);
assert.equal(second.code, 0, second.stderr);

async function find(args: string[]): Promise<Found[]> {
  const r = await ebak(['find', ...args, '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Found[];
}

/** Paths from the source directory on (snapshots may store the source's full path or its base name). */
const paths = (f: Found[]) => f.map((s) => s.matches.map((m) => m.path.slice(m.path.indexOf('/src/'))).sort());

describe('ebak find', () => {
  it('a name glob matches in every snapshot; restic\'s JSON shape', async () => {
    const f = await find(['*.md']);
    assert.deepEqual(paths(f), [['/src/README.md'], ['/src/README.md', '/src/later.md']]);
    assert.equal(f[0]!.snapshot, firstId);
    assert.equal(f[0]!.hits, 1);
    assert.equal(f[0]!.matches[0]!.struct_type, 'node');
    assert.equal(f[0]!.matches[0]!.type, 'file');
  });

  it('--ignore-case, a path pattern with **, and --host / --snapshot choose the snapshots', async () => {
    assert.deepEqual(paths(await find(['-i', '*.md', '--host', 'alpha'])), [['/src/README.md', '/src/docs/guide.MD']]);
    assert.deepEqual(paths(await find(['**/docs/old/*.txt', '--snapshot', firstId.slice(0, 8)])), [['/src/docs/old/notes.txt']]);
    assert.deepEqual(paths(await find(['old', '-s', 'latest'])), [['/src/docs/old']]);
    assert.deepEqual(paths(await find(['docs/*.MD'])), [], 'a pattern with / matches whole paths, from the root');
  });

  it('--oldest/--newest bound the modification time', async () => {
    assert.deepEqual(paths(await find(['*', '--newest', '2002-01-01', '--host', 'alpha'])), [['/src/docs/old/notes.txt']]);
    const recent = paths(await find(['*.txt', '--oldest', '2002-01-01']));
    assert.deepEqual(recent, [], 'the old file is outside the bound');
  });

  it('prints a header per snapshot and ls -l lines with --long', async () => {
    const r = await ebak(['find', 'notes.txt', '--long', '-s', 'latest'], env);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0]!, /^Found matching entries in snapshot [0-9a-f]{8} from /);
    assert.match(lines[1]!, /^-rw.{7} +\d+ +\d+ +5 B 2001-02-03 00:00:00 \/(.+\/)?src\/docs\/old\/notes\.txt$/);
  });

  it('refuses no pattern, a bad time and an unknown snapshot with one line', async () => {
    assertFailed(await ebak(['find'], env), 1, 'pattern');
    assertFailed(await ebak(['find', 'x', '--newest', 'yesterday-ish'], env), 1, '--newest');
    assertFailed(await ebak(['find', 'x', '-s', 'deadbeef'], env), 1, 'deadbeef');
  });
});
