/**
 * backup's restic flags through the real CLI (issue #17): what each leaves
 * out or takes in is compared, path by path, with what real restic 0.14
 * stores for the same tree and the same flag (test/retention compares
 * forget the same way); the flags restic 0.14 lacks (--skip-if-unchanged,
 * --stdin-from-command) are checked against restic 0.17's documented
 * behaviour. Then --stdin's memory, --dry-run's untouched repository, and
 * the errors each bad input gives.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { lstat, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertCode, backupSummary, BIN, ebak, lsNodes, newRepo, repoFiles, startEbak, tempDir, type RunResult } from './harness.js';

const HAS_RESTIC = spawnSync('restic', ['version']).status === 0;

/** The tree every comparison backs up: names and sizes that each flag has something to say about. */
async function makeTree(src: string): Promise<void> {
  const files: Record<string, string | Buffer> = {
    'a/keep.txt': 'keep',
    'a/debug.log': 'log',
    'a/sub/deep.txt': 'deep',
    'a/sub/Notes.TMP': 'tmp',
    'b/x.txt': 'x',
    'b/big.bin': randomBytes(4096),
    'b/small.bin': randomBytes(100),
    'cache/CACHEDIR.TAG': 'Signature: 8a477f597d28d172789f06886806bc55\n# a cache\n',
    'cache/blob': 'cached',
    'cache/inner/more': 'more',
    'badtag/CACHEDIR.TAG': 'Signature: wrong',
    'badtag/kept': 'kept',
    'private/.nobackup': '',
    'private/secret': 'secret',
    'marked/marker': 'HEADER and more',
    'marked/gone': 'gone',
    'other/marker': 'no header here',
    'other/stays': 'stays',
    'c/a.txt': 'a',
    'c/b.txt': 'b',
    'c/c.txt': 'c',
    'dollar$name': 'dollar',
  };
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(join(src, rel, '..'), { recursive: true });
    await writeFile(join(src, rel), content);
  }
}

/** The paths under `src` (relative) of every node in `ebak ls latest`. */
async function ebakPaths(env: Record<string, string>, src: string): Promise<string[]> {
  const r = await ebak(['ls', 'latest', '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  return relative(lsNodes(r).map((e) => e.path), src);
}

function relative(paths: string[], src: string): string[] {
  return paths.filter((p) => p.startsWith(`${src}/`)).map((p) => p.slice(src.length + 1)).sort();
}

/** Real restic on the same sources with the same flags: the paths under `src` of the snapshot it makes (or its exit code). */
function resticBackup(repo: string, args: string[], src: string, opts: { env?: Record<string, string>; input?: Buffer; cwd?: string } = {}): { code: number; paths: string[] } {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: 'pw', ...opts.env };
  const b = spawnSync('restic', ['--no-cache', '-q', 'backup', ...args], { env, input: opts.input ?? Buffer.alloc(0), cwd: opts.cwd });
  const ls = spawnSync('restic', ['--no-cache', 'ls', 'latest', '--json'], { env, encoding: 'utf8' });
  const nodes = ls.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { struct_type: string; path: string }).filter((n) => n.struct_type === 'node');
  return { code: b.status ?? -1, paths: src === '' ? nodes.map((n) => n.path).sort() : relative(nodes.map((n) => n.path), src) };
}

/** A directory for a whole suite (tempDir's is removed when the hook that made it ends). */
function suiteDir(parent = tmpdir()): string {
  const d = mkdtempSync(join(parent, 'ebak-test-'));
  after(() => rm(d, { recursive: true, force: true }));
  return d;
}

/** A new restic repository (password "pw"). */
function resticRepo(repo: string): string {
  execFileSync('restic', ['init', '-q', '--repo', repo], { env: { PATH: process.env.PATH, HOME: process.env.HOME, RESTIC_PASSWORD: 'pw' } });
  return repo;
}

/** Runs the CLI with bytes on its standard input (the harness's runs have none). */
function ebakWithInput(args: string[], env: Record<string, string>, input: Buffer | ((stdin: NodeJS.WritableStream) => Promise<void>), prefix: string[] = []): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const argv = [...prefix, process.execPath, BIN, ...args];
    const child = spawn(argv[0]!, argv.slice(1), { env: { PATH: process.env.PATH, HOME: process.env.HOME, EBAK_NO_CACHE: '1', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.on('error', () => undefined); // the child may stop reading (a refused command line)
    if (Buffer.isBuffer(input)) child.stdin.end(input);
    else void input(child.stdin).then(() => child.stdin.end(), reject);
  });
}

async function snapshotCount(env: Record<string, string>): Promise<number> {
  return (JSON.parse((await ebak(['snapshots', '--json'], env)).stdout) as unknown[]).length;
}

/** Every object of the repository with its content hash (locks included: a dry run must leave none behind). */
async function repoObjects(dir: string, rel = ''): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of (await readdir(join(dir, rel))).sort()) {
    const p = join(rel, name);
    if ((await stat(join(dir, p))).isDirectory()) for (const [k, v] of await repoObjects(dir, p)) out.set(k, v);
    else out.set(p, createHash('sha256').update(await readFile(join(dir, p))).digest('hex'));
  }
  return out;
}

describe('backup: restic\'s exclude and files-from flags, compared with restic 0.14 on the same tree', { skip: !HAS_RESTIC && 'restic is not installed' }, () => {
  const dir = suiteDir();
  const src = join(dir, 'src');
  let env: Record<string, string>;
  let runs = 0;
  before(async () => {
    await makeTree(src);
    env = (await newRepo(dir)).env;
  });

  /** Backs up with `flags` through ebak and through restic; both must keep exactly `expected` (paths under src). */
  async function same(flags: string[], expected: string[], opts: { env?: Record<string, string>; paths?: string[] } = {}): Promise<void> {
    const paths = opts.paths ?? [src];
    const e = await ebak(['backup', ...paths, ...flags], { ...env, ...opts.env });
    assert.equal(e.code, 0, e.stderr);
    const mine = await ebakPaths(env, src);
    const theirs = resticBackup(resticRepo(join(dir, `restic-${runs++}`)), [...paths, ...flags], src, opts);
    assert.equal(theirs.code, 0);
    assert.deepEqual(mine, theirs.paths, 'ebak keeps what restic keeps');
    assert.deepEqual(mine, [...expected].sort());
  }

  const ALL = ['a', 'a/debug.log', 'a/keep.txt', 'a/sub', 'a/sub/Notes.TMP', 'a/sub/deep.txt', 'b', 'b/big.bin', 'b/small.bin', 'b/x.txt',
    'badtag', 'badtag/CACHEDIR.TAG', 'badtag/kept', 'c', 'c/a.txt', 'c/b.txt', 'c/c.txt', 'cache', 'cache/CACHEDIR.TAG', 'cache/blob', 'cache/inner', 'cache/inner/more',
    'dollar$name', 'marked', 'marked/gone', 'marked/marker', 'other', 'other/marker', 'other/stays', 'private', 'private/.nobackup', 'private/secret'];
  const without = (...gone: string[]) => ALL.filter((p) => !gone.some((g) => p === g || p.startsWith(`${g}/`)));

  it('--exclude-file: one pattern a line, # comments and blank lines ignored, $VAR expanded and $$ a dollar', async () => {
    const file = join(dir, 'excludes');
    await writeFile(file, '# build output\n*.log\n\n   $SUBDIR   \ndollar$$name\n[ab]/x.txt\n');
    await same(['--exclude-file', file], without('a/debug.log', 'a/sub', 'dollar$name', 'b/x.txt'), { env: { SUBDIR: 'a/sub' } });
  });

  it('--iexclude and --iexclude-file ignore the case of names', async () => {
    const file = join(dir, 'iexcludes');
    await writeFile(file, 'KEEP.TXT\n');
    await same(['--iexclude', '*.tmp', '--iexclude-file', file], without('a/sub/Notes.TMP', 'a/keep.txt'));
  });

  it('--exclude-caches keeps a tagged directory with its tag only; a tag with the wrong signature excludes nothing', async () => {
    await same(['--exclude-caches'], without('cache/blob', 'cache/inner'));
  });

  it('--exclude-if-present FILE and FILE:HEADER', async () => {
    await same(['--exclude-if-present', '.nobackup', '--exclude-if-present', 'marker:HEADER'], without('private/secret', 'marked/gone'));
  });

  it('--exclude-larger-than leaves out larger files (restic\'s size syntax), never directories', async () => {
    await same(['--exclude-larger-than', '2k'], without('b/big.bin'));
    await same(['--exclude-larger-than', '99b'], without('b/big.bin', 'b/small.bin'));
  });

  it('--files-from: globs expanded, comments and blank lines ignored, plain paths kept', async () => {
    const list = join(dir, 'files-from');
    await writeFile(list, `# the sources\n${src}/c/[ab].txt\n\n  ${src}/a/sub  \n${src}/nothing-*\n`);
    await same(['--files-from', list], ['a', 'a/sub', 'a/sub/Notes.TMP', 'a/sub/deep.txt', 'c', 'c/a.txt', 'c/b.txt'], { paths: [] });
  });

  it('--files-from-verbatim takes each line as it is; --files-from-raw NUL-ended names', async () => {
    const verbatim = join(dir, 'verbatim');
    await writeFile(verbatim, `${src}/dollar$name\n${src}/c/*.txt\n`);
    const raw = join(dir, 'raw');
    await writeFile(raw, `${src}/b/x.txt\0${src}/a/keep.txt\0`);
    const e = await ebak(['backup', '--files-from-verbatim', verbatim, '--files-from-raw', raw], env);
    assert.equal(e.code, 3, 'a listed path is missing (c/*.txt is no glob here)');
    assert.match(e.stderr, /c\/\*\.txt/);
    assert.deepEqual(await ebakPaths(env, src), ['a', 'a/keep.txt', 'b', 'b/x.txt', 'dollar$name']);
    const theirs = resticBackup(resticRepo(join(dir, `restic-${runs++}`)), ['--files-from-verbatim', verbatim, '--files-from-raw', raw], src);
    if (theirs.code !== 1) assert.deepEqual(theirs.paths, ['a', 'a/keep.txt', 'b', 'b/x.txt', 'dollar$name']);
  });

  it('--files-from-raw keeps a name that is not UTF-8 as its bytes', async () => {
    await mkdir(join(dir, 'rawsrc'));
    const name = Buffer.concat([Buffer.from(`${dir}/rawsrc/raw-`), Buffer.from([0xff, 0xfe]), Buffer.from('.bin')]);
    await writeFile(name, 'bytes');
    const raw = join(dir, 'raw-bytes');
    await writeFile(raw, Buffer.concat([name, Buffer.from([0])]));
    const e = await ebak(['backup', '--files-from-raw', raw, '--json'], env);
    assert.equal(e.code, 0, e.stderr);
    assert.equal(backupSummary(e).files_new, 1);
    const out = join(dir, 'raw-out');
    assert.equal((await ebak(['restore', 'latest', '--target', out], env)).code, 0);
    assert.equal(await readFile(Buffer.concat([Buffer.from(out), name]), 'utf8'), 'bytes');
  });

  it('-x / --one-file-system keeps a mount point as an empty directory (a tmpfs in the tree, else the mounts under /dev)', async () => {
    const mnt = join(src, 'mnt');
    await mkdir(mnt);
    if (spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', mnt]).status !== 0) return assertDevMountsEmpty(env);
    after(() => spawnSync('umount', [mnt]));
    await writeFile(join(mnt, 'on-tmpfs'), 'elsewhere');
    await same(['-x'], [...ALL, 'mnt']);
    await same([], [...ALL, 'mnt', 'mnt/on-tmpfs']);
  });
});

/**
 * The mount points that already exist under /dev (/dev/pts, /dev/shm, /dev/mqueue: other file
 * systems than /dev's own), so -x is tested where nothing can be mounted: `backup -x /dev`
 * keeps each as an empty directory and still reads /dev's own entries.
 */
async function assertDevMountsEmpty(env: Record<string, string>): Promise<void> {
  const own = (await stat('/dev')).dev;
  const mounts: string[] = [];
  for (const name of await readdir('/dev')) {
    const st = await lstat(join('/dev', name));
    if (st.isDirectory() && st.dev !== own && (await readdir(join('/dev', name))).length > 0) mounts.push(name);
  }
  assert.ok(mounts.length > 0, 'a non-empty mount point under /dev (devpts holds ptmx)');
  const e = await ebak(['backup', '/dev', '-x', '--json'], env);
  assert.ok(e.code === 0 || e.code === 3, e.stderr);
  const paths = await ebakPaths(env, '/dev');
  assert.ok(paths.includes('null'), '/dev\'s own entries are read');
  for (const m of mounts) {
    assert.ok(paths.includes(m), `${m} is kept`);
    assert.deepEqual(paths.filter((p) => p.startsWith(`${m}/`)), [], `nothing under /dev/${m} is read`);
  }
}

describe('backup -x on mount points that exist without mounting anything', () => {
  const dir = suiteDir();
  it('keeps /dev/pts, /dev/shm and the other mounts under /dev as empty directories', async () => {
    await assertDevMountsEmpty((await newRepo(dir)).env);
  });
});

describe('backup: input that is refused, in one line each', () => {
  const dir = suiteDir();
  let env: Record<string, string>;
  before(async () => {
    await mkdir(join(dir, 'src'));
    await writeFile(join(dir, 'src', 'f'), 'f');
    env = (await newRepo(dir)).env;
  });

  it('names the bad exclude file, pattern, size, tag or combination (USAGE, exit 1), and saves nothing', async () => {
    const src = join(dir, 'src');
    const bad = join(dir, 'bad-pattern');
    await writeFile(bad, 'ok\n[unclosed\n');
    const unset = join(dir, 'unset-variable');
    await writeFile(unset, '$EBAK_TEST_UNSET\n');
    const noNul = join(dir, 'no-nul');
    await writeFile(noNul, `${src}/f`);
    const missingOnly = join(dir, 'missing-only');
    await writeFile(missingOnly, `${dir}/nope\n`);
    const cases = [
      ['--exclude-file', join(dir, 'no-such-file'), src],
      ['--exclude-file', bad, src],
      ['--exclude-file', unset, src],
      ['--iexclude', '', src],
      ['--exclude', 'a[', src],
      ['--exclude-larger-than', '12 MB', src],
      ['--exclude-if-present', ':header', src],
      ['--stdin', src],
      ['--stdin', '--files-from', missingOnly],
      ['--stdin-from-command'],
      ['--files-from-verbatim', missingOnly],
      ['--files-from-raw', noNul],
      [],
    ];
    for (const argv of cases) assertCode(await ebak(['backup', ...argv, '--json'], env), 1, 'USAGE');
    assert.equal(await snapshotCount(env), 0);
  });
});

describe('backup --stdin and --stdin-from-command', () => {
  it('streams 50 MiB from standard input with flat memory; the snapshot holds exactly those bytes', async (t) => {
    const dir = await tempDir();
    const { env } = await newRepo(dir);
    const hash = createHash('sha256');
    const r = await ebakWithInput(['backup', '--stdin', '--stdin-filename', 'db/dump.sql', '--json'], env, async (stdin) => {
      for (let i = 0; i < 50; i++) {
        const piece = randomBytes(1 << 20);
        hash.update(piece);
        if (!stdin.write(piece)) await new Promise((res) => stdin.once('drain', res));
      }
    }, ['/usr/bin/time', '-v']);
    assert.equal(r.code, 0, r.stderr);
    const summary = backupSummary(r);
    assert.equal(summary.files_new, 1);
    assert.equal(summary.total_bytes, 50 << 20);
    const peakKiB = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1]);
    // The backup's own working set (workers, the packer's 32 MiB budget, a chunk buffer) is 250-300 MiB
    // whatever the input: measured 254 MiB for this 50 MiB stream and 292 MiB for a 500 MiB one.
    t.diagnostic(`peak RSS of the backup: ${Math.round(peakKiB / 1024)} MiB`);
    assert.ok(peakKiB > 0 && peakKiB < 350 * 1024, `peak RSS ${peakKiB} KiB`);
    const [snap] = JSON.parse((await ebak(['snapshots', '--json'], env)).stdout) as { paths: string[]; parent?: string }[];
    assert.deepEqual(snap!.paths, ['/db/dump.sql']);
    const out = join(dir, 'out');
    assert.equal((await ebak(['restore', 'latest', '--target', out], env)).code, 0);
    assert.equal(createHash('sha256').update(await readFile(join(out, 'db/dump.sql'))).digest('hex'), hash.digest('hex'));
    assert.equal(((await stat(join(out, 'db/dump.sql'))).mode & 0o777), 0o644);
  });

  it('stores the same paths restic 0.14 does for --stdin-filename', { skip: !HAS_RESTIC && 'restic is not installed' }, async () => {
    const dir = await tempDir();
    const { env } = await newRepo(dir);
    const input = Buffer.from('dump\n');
    assert.equal((await ebakWithInput(['backup', '--stdin', '--stdin-filename', 'x/y.sql'], env, input)).code, 0);
    const theirs = resticBackup(resticRepo(join(dir, 'restic')), ['--stdin', '--stdin-filename', 'x/y.sql'], '', { input });
    const ls = lsNodes(await ebak(['ls', 'latest', '--json'], env));
    assert.deepEqual(ls.map((e) => e.path).sort(), theirs.paths);
  });

  it('--stdin-from-command backs up the command\'s output; a failing command saves no snapshot', async () => {
    const dir = await tempDir();
    const { env } = await newRepo(dir);
    const ok = await ebak(['backup', '--stdin-from-command', '--json', '--', 'sh', '-c', 'echo first; echo to-stderr >&2; echo second'], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /to-stderr/);
    const out = join(dir, 'out');
    assert.equal((await ebak(['restore', 'latest', '--target', out], env)).code, 0);
    assert.equal(await readFile(join(out, 'stdin'), 'utf8'), 'first\nsecond\n');
    const failed = await ebak(['backup', '--stdin-from-command', '--json', '--', 'sh', '-c', 'echo partial; exit 3'], env);
    assert.equal(failed.code, 1, failed.stderr);
    const missing = await ebak(['backup', '--stdin-from-command', '--json', '--', join(dir, 'no-such-command')], env);
    assert.equal(missing.code, 1, missing.stderr);
    assert.equal(await snapshotCount(env), 1);
  });

  it('Ctrl-C while the command is silent stops the backup cleanly: exit 130, the command killed, no lock, no snapshot', async () => {
    const dir = await tempDir();
    const { env } = await newRepo(dir);
    const pidFile = join(dir, 'pid');
    const run = startEbak(['backup', '--stdin-from-command', '--', 'sh', '-c', `echo $$ > ${pidFile}; exec sleep 120`], env);
    // The command runs once the backup holds its lock and reads the stream.
    for (let i = 0; !(existsSync(pidFile) && readFileSync(pidFile, 'utf8').endsWith('\n')); i++) {
      assert.ok(i < 1200, 'the backup never ran the command');
      await sleep(50);
    }
    run.child.kill('SIGINT');
    const r = await run.done;
    assert.equal(r.code, 130, r.stderr);
    assert.throws(() => process.kill(Number(readFileSync(pidFile, 'utf8')), 0), { code: 'ESRCH' }, 'the command is gone');
    assert.deepEqual(await repoFiles(env.EBAK_REPOSITORY!, 'locks'), []);
    assert.equal(await snapshotCount(env), 0);
  });
});

describe('backup --dry-run, --skip-if-unchanged, --force', () => {
  // A snapshot records its source's ancestors with their metadata, as restic's does, so a new entry
  // in /tmp (other test files make them all the time) changes the tree and --skip-if-unchanged
  // rightly saves a snapshot. /var/tmp is an ancestor nothing else in the suite changes.
  const dir = suiteDir('/var/tmp');
  const src = join(dir, 'src');
  let env: Record<string, string>;
  before(async () => {
    await makeTree(src);
    env = (await newRepo(dir)).env;
  });

  it('--dry-run reports what would be added and leaves the repository byte for byte as it was', async () => {
    const objects = await repoObjects(env.EBAK_REPOSITORY!);
    const r = await ebak(['backup', src, '--dry-run', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const s = backupSummary(r);
    assert.equal(s.dry_run, true);
    assert.equal(s.snapshot_id, undefined);
    assert.equal(s.files_new, 22);
    assert.ok(s.data_blobs_added > 0 && s.data_added > 0);
    assert.deepEqual(await repoObjects(env.EBAK_REPOSITORY!), objects);
    assert.equal((await ebak(['backup', src, '-n'], env)).code, 0);
    assert.deepEqual(await repoObjects(env.EBAK_REPOSITORY!), objects);
  });

  it('--skip-if-unchanged saves no second snapshot of an unchanged tree, and one after a change', async () => {
    assert.equal((await ebak(['backup', src], env)).code, 0);
    const again = await ebak(['backup', src, '--skip-if-unchanged', '--json'], env);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(backupSummary(again).snapshot_id, undefined);
    assert.equal(backupSummary(again).files_unmodified, 22);
    assert.equal(await snapshotCount(env), 1);
    await writeFile(join(src, 'c/a.txt'), 'changed');
    assert.equal((await ebak(['backup', src, '--skip-if-unchanged'], env)).code, 0);
    assert.equal(await snapshotCount(env), 2);
  });

  it('--force reads every file again and records no parent', async () => {
    const r = await ebak(['backup', src, '--force', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const s = backupSummary(r);
    assert.equal(s.files_new, 22);
    assert.equal(s.files_unmodified, 0);
    assert.equal(s.bytes_processed, s.total_bytes);
    assert.equal(s.data_blobs_added, 0, 'every chunk is already stored');
    const snaps = JSON.parse((await ebak(['snapshots', '--json'], env)).stdout) as { parent?: string }[];
    assert.equal(snaps[snaps.length - 1]!.parent, undefined);
  });
});
