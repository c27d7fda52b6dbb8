/**
 * Sparse files (issue #14 item 9): a 64 MiB file that is mostly a hole backs
 * up into a few small blobs (the zero runs deduplicate), and `restore
 * --sparse` gives it back with the holes (few blocks allocated), byte for
 * byte; without --sparse the zeros are written out, as restic does.
 */
import assert from 'node:assert/strict';
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { backupSummary, ebak, newRepo, tempDir } from './harness.js';

const MiB = 1024 * 1024;

describe('sparse files', () => {
  it('back up small and restore with their holes under --sparse, byte-identical either way', async () => {
    const dir = await tempDir();
    const src = join(dir, 'src');
    const file = join(src, 'disk.img');
    await (await import('node:fs/promises')).mkdir(src);
    const fh = await open(file, 'w');
    await fh.truncate(64 * MiB);
    await fh.write(Buffer.alloc(100_000, 'a'), 0, 100_000, 20 * MiB); // data in the middle
    await fh.write(Buffer.from('tail'), 0, 4, 64 * MiB - 4);
    await fh.close();
    const { env } = await newRepo(dir);
    const b = await ebak(['backup', src, '--json'], env);
    assert.equal(b.code, 0, b.stderr);
    const added = (backupSummary(b) as { data_added: number }).data_added;
    assert.ok(added < 2 * MiB, `a 64 MiB mostly-hole file added ${added} bytes`);

    const expected = await readFile(file);
    for (const sparse of [true, false]) {
      const out = join(dir, sparse ? 'sparse' : 'dense');
      const r = await ebak(['restore', 'latest', '--target', out, '--verify', ...(sparse ? ['--sparse'] : [])], env);
      assert.equal(r.code, 0, r.stderr);
      const restored = join(out, file);
      assert.ok((await readFile(restored)).equals(expected), `sparse=${sparse}: bytes differ`);
      const st = await stat(restored);
      assert.equal(st.size, 64 * MiB);
      const allocated = st.blocks * 512;
      if (sparse) assert.ok(allocated < 16 * MiB, `--sparse allocated ${allocated} bytes`);
      else assert.ok(allocated >= 60 * MiB, `without --sparse the zeros are written (${allocated} bytes allocated)`);
    }
  });
});
