/**
 * The global --quiet/-q and --verbose/-v (restic's) through the real CLI,
 * before or after the command: --quiet drops the informational lines
 * (backup's and restore's summaries) but never results, warnings or --json;
 * --verbose lists each file backup stored (new or modified, not the
 * unmodified ones), and is restore's one -v (every entry restored).
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ebak, newRepo, tempDir } from './harness.js';

const dir = await tempDir('ebak-quiet-');
const { env } = await newRepo(dir);
const src = join(dir, 'src');
await mkdir(src);
await writeFile(join(src, 'a.txt'), 'a');
await writeFile(join(src, 'b.txt'), 'b');

describe('global --quiet and --verbose', () => {
  it('backup -v lists each file stored; -q prints nothing but --json stays', async () => {
    const first = await ebak(['-v', 'backup', src], env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`^new +${join(src, 'a.txt')}$`, 'm'));
    assert.match(first.stdout, new RegExp(`^new +${join(src, 'b.txt')}$`, 'm'));
    assert.match(first.stdout, /^snapshot [0-9a-f]{8} saved/m);
    await writeFile(join(src, 'b.txt'), 'b, changed');
    const second = await ebak(['backup', src, '--verbose'], env);
    assert.match(second.stdout, new RegExp(`^modified +${join(src, 'b.txt')}$`, 'm'));
    assert.ok(!second.stdout.includes('a.txt'), 'an unmodified file is not listed');
    const quiet = await ebak(['backup', src, '-q'], env);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stdout, '');
    const json = await ebak(['--quiet', 'backup', src, '--json'], env);
    assert.equal((JSON.parse(json.stdout) as { message_type: string }).message_type, 'summary');
  });

  it('restore -q leaves out the summary; restore -v (the global flag) lists every entry', async () => {
    const quiet = await ebak(['restore', 'latest', '--target', join(dir, 'out-q'), '--quiet'], env);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stdout, '');
    const verbose = await ebak(['-v', 'restore', 'latest', '--target', join(dir, 'out-v')], env);
    assert.equal(verbose.code, 0, verbose.stderr);
    assert.match(verbose.stdout, /restored .*\/a\.txt$/m);
    assert.match(verbose.stdout, /^restored snapshot [0-9a-f]{8}/m);
  });

  it('-q keeps results and warnings: ls lists, and a path matching nothing is still named', async () => {
    const ls = await ebak(['-q', 'ls', 'latest', src], env);
    assert.ok(ls.stdout.includes(join(src, 'a.txt')), ls.stdout);
    const none = await ebak(['-q', 'ls', 'latest', join(src, 'nope')], env);
    assert.match(none.stderr, /warning: .*nope matches nothing/);
  });
});
