/**
 * restic's --compression and --pack-size for what a run writes: off stores
 * a compressible file at its size, max smaller than the default; 4 MiB packs
 * make more packs than the default 16 MiB; bad values are usage errors; the
 * data restores either way.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { backupSummary, ebak, jsonError, newRepo, packKind, repoFiles, tempDir } from './harness.js';

const MiB = 1024 * 1024;

async function dataPacks(repo: string): Promise<number> {
  let n = 0;
  for (const p of await repoFiles(repo, 'data')) if ((await packKind(p)) === 0) n++;
  return n;
}

describe('--compression and --pack-size', () => {
  it('off, auto and max store a compressible file at decreasing sizes; 4 MiB packs are more packs; all restore', async () => {
    const dir = await tempDir();
    const src = join(dir, 'src');
    await mkdir(src);
    const text = Buffer.from(Array.from({ length: 200_000 }, (_, i) => `line ${i} of a log that compresses well\n`).join(''));
    await writeFile(join(src, 'log.txt'), text);
    const added: Record<string, number> = {};
    for (const mode of ['off', 'auto', 'max']) {
      const { env } = await newRepo(join(dir, mode));
      const b = await ebak(['backup', src, '--compression', mode, '--json'], env);
      assert.equal(b.code, 0, b.stderr);
      added[mode] = (backupSummary(b) as { data_added: number }).data_added;
      const out = join(dir, `${mode}-out`);
      assert.equal((await ebak(['restore', 'latest', '--target', out], env)).code, 0);
      assert.ok((await readFile(join(out, src, 'log.txt'))).equals(text));
    }
    assert.ok(added.off! >= text.length, `off stored ${added.off} of ${text.length} bytes`);
    assert.ok(added.auto! < added.off! / 3 && added.max! < added.auto!, JSON.stringify(added));

    await writeFile(join(src, 'random.bin'), randomBytes(24 * MiB));
    const small = await newRepo(join(dir, 'small'));
    const big = await newRepo(join(dir, 'big'));
    assert.equal((await ebak(['backup', src, '--pack-size', '4'], small.env)).code, 0);
    assert.equal((await ebak(['backup', src], big.env)).code, 0);
    const [s, b] = [await dataPacks(small.env.EBAK_REPOSITORY), await dataPacks(big.env.EBAK_REPOSITORY)];
    assert.ok(s >= 5 && s > b, `4 MiB packs: ${s}, default: ${b}`);
    assert.equal((await ebak(['check', '--read-data'], small.env)).code, 0);

    for (const bad of [['--pack-size', '2'], ['--pack-size', '129'], ['--compression', 'zip']]) {
      const r = await ebak(['backup', src, ...bad, '--json'], small.env);
      assert.equal(r.code, 1, bad.join(' '));
      assert.equal(jsonError(r).code, 'USAGE');
    }
  });
});
