/**
 * `ebak stats` through the real CLI, each of restic's modes on a source
 * whose figures are known: duplicate contents, a hard link, compressible
 * data, two snapshots sharing everything.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { link, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertFailed, ebak, newRepo, tempDir } from './harness.js';

const dir = await tempDir('ebak-stats-');
const { env } = await newRepo(dir);
const src = join(dir, 'src');
await mkdir(join(src, 'sub'), { recursive: true });
const unique = randomBytes(100_000);
await writeFile(join(src, 'a.bin'), unique);
await writeFile(join(src, 'sub', 'copy.bin'), unique); // same content as a.bin
await writeFile(join(src, 'zeros.bin'), Buffer.alloc(200_000)); // compresses well
await link(join(src, 'zeros.bin'), join(src, 'zeros-link.bin')); // same inode
/** Directories above src in the snapshot: /tmp, /tmp/ebak-stats-… */
const ABOVE = src.split('/').filter(Boolean).length - 1;
for (let i = 0; i < 2; i++) assert.equal((await ebak(['backup', src], env)).code, 0);

async function stats(args: string[]): Promise<Record<string, number>> {
  const r = await ebak(['stats', ...args, '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, number>;
}

describe('ebak stats', () => {
  it('restore-size: every entry, a hard-linked inode\'s bytes once per snapshot', async () => {
    const s = await stats(['latest']);
    // The directories down to src (snapshots hold the full path), then src, a.bin, sub, sub/copy.bin, zeros.bin, zeros-link.bin.
    assert.equal(s.total_file_count, ABOVE + 6);
    assert.equal(s.total_size, 100_000 + 100_000 + 200_000);
    assert.equal(s.snapshots_count, 1);
    const both = await stats([]);
    assert.equal(both.snapshots_count, 2);
    assert.equal(both.total_size, 2 * 400_000);
  });

  it('files-by-contents and blobs-per-file count each content once across snapshots', async () => {
    const s = await stats(['--mode', 'files-by-contents']);
    assert.equal(s.total_file_count, 2);
    assert.equal(s.total_size, 300_000);
    const b = await stats(['--mode', 'blobs-per-file']);
    assert.equal(b.total_file_count, 2);
    assert.ok(b.total_blob_count! >= 2);
  });

  it('raw-data: distinct blobs, stored smaller than uncompressed', async () => {
    const s = await stats(['--mode', 'raw-data']);
    assert.ok(s.total_blob_count! >= 3, 'two data blobs and trees');
    assert.ok(s.total_uncompressed_size! >= 300_000);
    assert.ok(s.total_size < s.total_uncompressed_size!, 'zeros compress');
    assert.ok(s.compression_ratio! > 1);
  });

  it('prints restic\'s text, and refuses an unknown mode', async () => {
    const r = await ebak(['stats', 'latest'], env);
    assert.match(r.stdout, new RegExp(String.raw`^Stats in restore-size mode:\n\s+Snapshots processed:\s+1\n\s+Total File Count:\s+${ABOVE + 6}\n\s+Total Size:\s+390\.63 KiB\n$`));
    assertFailed(await ebak(['stats', '--mode', 'bogus'], env), 1, '--mode');
  });
});
