/**
 * `ebak diff` with restic's modifiers and totals through the real CLI:
 * `+`/`-` (directories with a trailing "/"), `M` for new contents, `T` for a
 * new type, `U` for metadata alone only under --metadata; the totals block;
 * and --json as restic's NDJSON (`change` lines, then `statistics`).
 */
import assert from 'node:assert/strict';
import { chmod, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { backupSummary, ebak, ndjson, newRepo, tempDir } from './harness.js';

const dir = await tempDir('ebak-diff-');
const { env } = await newRepo(dir);
const src = join(dir, 'src');
await mkdir(join(src, 'keep'), { recursive: true });
await writeFile(join(src, 'changed.txt'), 'one');
await writeFile(join(src, 'gone.txt'), 'bye');
await writeFile(join(src, 'becomes-link'), 'file');
await writeFile(join(src, 'mode.txt'), 'same');
await writeFile(join(src, 'keep', 'k.txt'), 'unchanged');

async function backup(): Promise<string> {
  const b = await ebak(['backup', src, '--json'], env);
  assert.equal(b.code, 0, b.stderr);
  return (backupSummary(b) as { snapshot_id: string }).snapshot_id.slice(0, 8);
}

const first = await backup();
await writeFile(join(src, 'changed.txt'), 'two, longer');
await rm(join(src, 'gone.txt'));
await rm(join(src, 'becomes-link'));
await symlink('changed.txt', join(src, 'becomes-link'));
await chmod(join(src, 'mode.txt'), 0o600);
await mkdir(join(src, 'new'));
await writeFile(join(src, 'new', 'n.txt'), 'new');
const second = await backup();

type Change = { message_type: string; path: string; modifier: string };

describe('ebak diff', () => {
  it('prints restic\'s modifiers, U only with --metadata', async () => {
    const r = await ebak(['diff', first, second], env);
    assert.equal(r.code, 0, r.stderr);
    const changes = r.stdout.split('\n').filter((l) => /^[-+MTU?]+ +\//.test(l));
    assert.deepEqual(changes, [
      `T    ${src}/becomes-link`,
      `M    ${src}/changed.txt`,
      `-    ${src}/gone.txt`,
      `+    ${src}/new/`,
      `+    ${src}/new/n.txt`,
    ]);
    const meta = (await ebak(['diff', first, second, '--metadata'], env)).stdout;
    assert.ok(meta.includes(`U    ${src}/mode.txt\n`), meta);
    assert.ok(!meta.includes(`${src}/keep/`), 'an unchanged directory is not listed');
  });

  it('prints the totals', async () => {
    const out = (await ebak(['diff', first, second], env)).stdout;
    assert.match(out, /^Files: +1 new, +1 removed, +1 changed$/m);
    assert.match(out, /^Dirs: +1 new, +0 removed$/m);
    assert.match(out, /^Others: +0 new, +0 removed$/m);
    assert.match(out, /^Data Blobs: +\d+ new, +\d+ removed$/m);
    assert.match(out, /^ {2}Added: +\d/m);
  });

  it('--json is NDJSON: change lines, then restic\'s statistics', async () => {
    const lines = ndjson<Change & Record<string, unknown>>((await ebak(['diff', first, second, '--json'], env)).stdout);
    const stats = lines.at(-1)!;
    assert.equal(stats.message_type, 'statistics');
    assert.equal(stats.source_snapshot, first);
    assert.equal(stats.target_snapshot, second);
    assert.equal(stats.changed_files, 1);
    const added = stats.added as Record<string, number>;
    const removed = stats.removed as Record<string, number>;
    assert.deepEqual(Object.keys(added), ['files', 'dirs', 'others', 'data_blobs', 'tree_blobs', 'bytes']);
    assert.deepEqual([added.files, added.dirs, added.others, removed.files], [1, 1, 0, 1]);
    assert.ok(added.data_blobs! >= 2 && added.bytes! > 0 && removed.data_blobs! >= 1);
    assert.deepEqual(lines.slice(0, -1).map((c) => [c.modifier, c.path]), [['T', `${src}/becomes-link`], ['M', `${src}/changed.txt`], ['-', `${src}/gone.txt`], ['+', `${src}/new/`], ['+', `${src}/new/n.txt`]]);
  });

  it('--quiet leaves out the change lines, not the totals', async () => {
    const out = (await ebak(['--quiet', 'diff', first, second], env)).stdout;
    assert.ok(!out.includes('changed.txt'), out);
    assert.match(out, /^Files:/m);
  });
});

describe('ebak diff by name bytes', () => {
  const bsrc = join(dir, 'bytes');
  const at = (...parts: (string | number[])[]) => Buffer.concat([Buffer.from(bsrc), ...parts.map((p) => Buffer.from(typeof p === 'string' ? p : p))]);
  const invalid = at('/a', [0xff]);
  const replacement = at('/a\uFFFD');
  const dirInvalid = at('/d', [0xfe]);

  async function backupBytes(): Promise<string> {
    const b = await ebak(['backup', bsrc, '--json'], env);
    assert.equal(b.code, 0, b.stderr);
    return (backupSummary(b) as { snapshot_id: string }).snapshot_id.slice(0, 8);
  }

  it('tells a\\xff from a\\uFFFD: each is matched, compared and printed by its own bytes', async () => {
    await mkdir(bsrc);
    await writeFile(invalid, 'x');
    await writeFile(replacement, 'y');
    await mkdir(dirInvalid);
    await writeFile(at('/d', [0xfe], '/inner'), 'i');
    const s1 = await backupBytes();
    await writeFile(invalid, 'x, changed');
    await rm(at('/d', [0xfe], '/inner'));
    await writeFile(at('/d', [0xfe], '/new'), 'n');
    const s2 = await backupBytes();
    await rm(invalid);
    const s3 = await backupBytes();

    const r = await ebak(['diff', s1, s2], env);
    assert.equal(r.code, 0, r.stderr);
    const changes = (out: string) => out.split('\n').filter((l) => /^[-+MTU?]+ +\//.test(l));
    assert.deepEqual(changes(r.stdout), [`M    ${bsrc}/a\\xff`, `-    ${bsrc}/d\\xfe/inner`, `+    ${bsrc}/d\\xfe/new`], 'a\\uFFFD is unchanged and not confused with a\\xff');
    assert.match(r.stdout, /^Files: +1 new, +1 removed, +1 changed$/m);

    const gone = await ebak(['diff', s2, s3], env);
    assert.deepEqual(changes(gone.stdout), [`-    ${bsrc}/a\\xff`]);
    assert.match(gone.stdout, /^Files: +0 new, +1 removed, +0 changed$/m);

    const lines = ndjson<Change & { path_raw?: string }>((await ebak(['diff', s1, s2, '--json'], env)).stdout).slice(0, -1);
    assert.deepEqual(lines.map((c) => [c.modifier, Buffer.from(c.path_raw ?? '', 'base64')]), [['M', invalid], ['-', at('/d', [0xfe], '/inner')], ['+', at('/d', [0xfe], '/new')]]);
  });
});
