/**
 * Patterns, restic 0.17's way (doc/040_backup.rst, "Excluding Files";
 * internal/filter): a table of restic's documented examples against the
 * matcher (src/util/glob.ts), then the same lists through the real CLI:
 * backup --exclude-file with `!pattern` re-includes (a left-out directory
 * entered only when a negation could match below it), restore
 * --exclude/--include and find.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { compileList, patternProblem } from '../../src/util/glob.js';
import { ebak, lsNodes, newRepo, tempDir } from './harness.js';

/** [patterns, path, selected]: restic's documented examples first, then its `**` and negation rules. */
const TABLE: readonly (readonly [readonly string[], string, boolean])[] = [
  // "Patterns need to match on complete path components."
  [['foo'], '/dir1/foo/dir2/file', true],
  [['foo'], '/dir/foo', true],
  [['foo'], '/dir/foobar', false],
  [['foo'], '/barfoo', false],
  // "a leading / anchors the pattern at the root directory"; a trailing / is ignored.
  [['/bin'], '/bin/bash', true],
  [['/bin'], '/usr/bin/restic', false],
  [['/bin/'], '/bin/bash', true],
  // "Regular wildcards cannot be used to match over the directory separator".
  [['b*ash'], '/bin/bash', true],
  [['b*ash'], '/bin/ash', false],
  [['*.go'], '/home/u/work/main.go', true],
  // "foo/**/bar matches ...": ** may stand for no directory at all.
  [['foo/**/bar'], '/dir1/foo/dir2/bar/file', true],
  [['foo/**/bar'], '/foo/bar/file', true],
  [['foo/**/bar'], '/tmp/foo/bar', true],
  [['foo/**/bar'], '/tmp/foo/barx', false],
  [['/a/**/b'], '/a/b', true],
  [['/a/**/b'], '/a/x/y/b', true],
  [['/a/**/b'], '/ab', false],
  [['/a/**'], '/a', true],
  [['/a/**'], '/a/b/c', true],
  // The documented negation example: exclude every directory of $HOME, then add some back.
  ...([
    ['/home/u/Documents', false],
    ['/home/u/Documents/letter.txt', false],
    ['/home/u/code/main.c', false],
    ['/home/u/Music', true],
    ['/home/u/Music/song.ogg', true],
    ['/home/u/code/app/node_modules', true],
    ['/home/u/code/notes.txt~', true],
    ['/home/u/code/x.pyc', true],
  ] as const).map(([path, selected]) => [['/home/u/*', '!/home/u/Documents', '!/home/u/code', 'node_modules', '*~', '*.pyc'], path, selected] as const),
  // The last pattern to match decides.
  [['*.log', '!keep.log'], '/var/keep.log', false],
  [['*.log', '!keep.log', '*.log'], '/var/keep.log', true],
  [['!keep.log'], '/var/keep.log', false],
];

describe('pattern lists (restic\'s documented examples)', () => {
  it(`decides all ${TABLE.length} cases as restic does`, () => {
    assert.equal(TABLE.length, 30);
    for (const [patterns, path, selected] of TABLE) assert.equal(compileList(patterns).matches(path), selected, `${JSON.stringify(patterns)} on ${path}`);
  });

  it('a left-out directory is entered only when a negation could match below it', () => {
    const list = compileList(['/home/u/*', '!/home/u/Documents/keep.txt']);
    assert.equal(list.matches('/home/u/Documents'), true);
    assert.equal(list.negationBelow('/home/u/Documents'), true);
    assert.equal(list.negationBelow('/home/u/Music'), false);
    assert.equal(list.matches('/home/u/Documents/keep.txt'), false);
    assert.equal(list.matches('/home/u/Documents/other.txt'), true);
    assert.equal(compileList(['node_modules']).negationBelow('/x/node_modules'), false);
  });

  it('a lone "!" is refused', () => {
    assert.ok(patternProblem('!'));
    assert.equal(patternProblem('!*.log'), undefined);
  });
});

describe('negation through the CLI', async () => {
  const dir = await tempDir('ebak-patterns-');
  const { env } = await newRepo(dir);
  const home = join(dir, 'home');
  const files = ['Documents/letter.txt', 'Documents/keep/old.log', 'Music/song.ogg', 'Music/keep.txt', 'code/app/node_modules/lib.js', 'code/main.c', 'code/a/b/c.txt', 'code/debug.log', 'top.txt'];
  for (const f of files) {
    await mkdir(join(home, f, '..'), { recursive: true });
    await writeFile(join(home, f), f);
  }
  const excludes = join(dir, 'excludes.txt');
  await writeFile(excludes, ['# every directory of home, then some back', `${home}/*`, `!${home}/Documents`, `!${home}/code`, `!${home}/Music/keep.txt`, 'node_modules', '*.log', `!${home}/code/debug.log`, ''].join('\n'));
  const listed = async (snapshot = 'latest') => lsNodes(await ebak(['ls', snapshot, '--recursive', '--json'], env)).filter((n) => n.type === 'file').map((n) => n.path.slice(home.length + 1)).sort();

  it('backup --exclude-file: later !patterns re-include, and a left-out directory holds only what is re-included', async () => {
    const b = await ebak(['backup', home, '--exclude-file', excludes], env);
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual(await listed(), ['Documents/letter.txt', 'Music/keep.txt', 'code/a/b/c.txt', 'code/debug.log', 'code/main.c']);
  });

  it('restore --exclude and --include take the same lists', async () => {
    await ebak(['backup', home], env);
    const out = join(dir, 'out');
    const r = await ebak(['restore', 'latest', '--target', out, '--exclude', `${home}/code`, '--exclude', `!${home}/code/a/b/c.txt`], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await readdir(join(out, home, 'code'), { recursive: true })).sort(), ['a', 'a/b', 'a/b/c.txt'], 'only the re-included file under the excluded directory');
    const inc = join(dir, 'inc');
    const i = await ebak(['restore', 'latest', '--target', inc, '--include', '*.txt', '--include', '!keep.txt'], env);
    assert.equal(i.code, 0, i.stderr);
    const got = (await readdir(join(inc, home), { recursive: true })).filter((p) => p.endsWith('.txt')).sort();
    assert.deepEqual(got, ['Documents/letter.txt', 'code/a/b/c.txt', 'top.txt']);
  });

  it('find takes !patterns and /a/**/b', async () => {
    const f = await ebak(['find', '*.txt', '!letter.txt', '--json'], env);
    assert.equal(f.code, 0, f.stderr);
    const paths = (JSON.parse(f.stdout) as { matches: { path: string }[] }[]).flatMap((s) => s.matches.map((m) => m.path.slice(home.length + 1)));
    assert.ok(!paths.includes('Documents/letter.txt'), paths.join());
    assert.ok(paths.includes('top.txt'));
    const deep = await ebak(['find', `${home}/code/**/c.txt`, '--json'], env);
    assert.ok(deep.stdout.includes('code/a/b/c.txt'), deep.stdout);
    const direct = await ebak(['find', `${home}/**/top.txt`, '--json'], env);
    assert.ok(direct.stdout.includes(`${home}/top.txt`), '/a/**/b matches /a/b');
  });
});
