/**
 * The global --quiet/-q and --verbose/-v (restic's) through the real CLI,
 * before or after the command: --quiet drops the informational lines
 * (backup's and restore's summaries) but never results, warnings or --json;
 * --verbose lists each file backup stored (new or modified, not the
 * unmodified ones), and is restore's one -v (every entry restored). Every
 * command is run with -q once: its informational lines go, its results stay.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { backupSummary, ebak, newRepo, tempDir } from './harness.js';

/** Runs with -q; asserts success and returns stdout. */
async function quiet(args: string[], env: Record<string, string>): Promise<string> {
  const r = await ebak(['-q', ...args], env);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

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
    assert.equal((backupSummary(json) as { message_type: string }).message_type, 'summary');
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

  it('every command under -q: informational lines go, results stay', async () => {
    const other = join(dir, 'other');
    const o = { ...env, EBAK_REPOSITORY: other };
    const init = await quiet(['init'], o);
    assert.match(init, /^ {2}[0-9]{4}(-[0-9]{4}){15}$/m, 'init: the recovery key stays');
    assert.equal(await quiet(['backup', src], o), '');
    const snaps = await quiet(['snapshots'], env);
    assert.match(snaps, /^[0-9a-f]{8} /m, 'snapshots: the list stays');
    assert.doesNotMatch(snaps, /^\d+ snapshots?$/m, 'snapshots: no count line');
    assert.equal(await quiet(['check'], env), '', 'check: nothing when there is no error');
    assert.equal(await quiet(['check', '--read-data'], env), '');
    assert.match(await quiet(['find', 'a.txt'], env), new RegExp(`^${join(src, 'a.txt')}$`, 'm'), 'find: the matches stay');
    assert.match(await quiet(['stats'], env), /Total Size/, 'stats: the result stays');
    assert.equal(await quiet(['cat', 'config'], env).then((t) => typeof JSON.parse(t)), 'object', 'cat: the object stays');
    assert.equal(await quiet(['dump', 'latest', join(src, 'a.txt')], env), 'a');
    assert.match(await quiet(['diff', 'latest', 'latest'], env), /Files:/, 'diff: the totals stay (the changes are informational)');
    const tag = await quiet(['tag', 'latest', '--add', 'q'], env);
    assert.match(tag, /^[0-9a-f]{8} → [0-9a-f]{8}$/m, 'tag: what changed stays');
    assert.doesNotMatch(tag, /modified/);
    assert.equal(await quiet(['copy', '--from-repo', other, '--from-password-file', await passwordFile()], env), '', 'copy: its progress lines go');
    assert.equal(await quiet(['unlock'], env), '');
    assert.equal(await quiet(['prune'], env), '', 'prune: the table and counts go');
    assert.match(await quiet(['prune', '--dry-run'], env), /would free/, 'prune --dry-run: its outcome stays');
    assert.match(await quiet(['key', 'list'], env), /^[0-9a-f]{8} /m, 'key list: the keys stay');
    assert.match(await quiet(['ls', 'latest'], env), new RegExp(join(src, 'b.txt')));
  });
});

async function passwordFile(): Promise<string> {
  const f = join(dir, 'pw');
  await writeFile(f, 'correct horse\n');
  return f;
}
