/**
 * Errors a user meets, through the CLI: each is one line naming what failed,
 * the documented exit code, the `code` in --json mode, and nothing lost or
 * half-written (a full disk leaves a repository that checks clean and takes
 * the next backup).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Repository } from '../../src/repository/repository.js';
import { openBackend } from '../../src/storage/open.js';
import { assertCode, assertFailed, backupSummary, ebak, errorLines, fileDigests, newRepo, startEbak, tempDir } from './harness.js';

describe('opening a repository', () => {
  it('a wrong password exits 12 with one line', async () => {
    const dir = await tempDir();
    const { env } = await newRepo(dir);
    const bad = { ...env, EBAK_PASSWORD: 'wrong' };
    assertFailed(await ebak(['snapshots'], bad), 12);
    const j = await ebak(['snapshots', '--json'], bad);
    assertCode(j, 12, 'WRONG_KEY');
    assert.equal(j.stdout, '', 'nothing on stdout');
  });

  it('a missing repository exits 10, whether the path is absent or an empty directory', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'empty'));
    for (const repo of [join(dir, 'nope', 'repo'), join(dir, 'empty')]) {
      const env = { EBAK_REPOSITORY: repo, EBAK_PASSWORD: 'x' };
      assertFailed(await ebak(['snapshots'], env), 10, repo);
      assertCode(await ebak(['check', '--json'], env), 10, 'NO_REPOSITORY');
    }
    assert.deepEqual(await readdir(join(dir, 'empty')), [], 'opening created nothing');
  });

  it('init over an existing repository refuses and changes nothing', async () => {
    const dir = await tempDir();
    const { env } = await newRepo(dir);
    const repo = env.EBAK_REPOSITORY;
    const before = { config: await readFile(join(repo, 'config')), keys: (await readdir(join(repo, 'keys'))).sort() };
    assertFailed(await ebak(['init'], env), 1);
    assertCode(await ebak(['init', '--json'], env), 1, 'ALREADY_EXISTS');
    assert.deepEqual(await readFile(join(repo, 'config')), before.config);
    assert.deepEqual((await readdir(join(repo, 'keys'))).sort(), before.keys);
    assert.equal((await ebak(['snapshots'], env)).code, 0, 'the old password still opens it');
  });

  it("a backend ebak does not have is refused by name, and no directory of that name appears", async () => {
    const dir = await tempDir();
    const env = { EBAK_PASSWORD: 'pw' };
    const r = await ebak(['init', '-r', 'sftp:user@host:/x'], env, { cwd: dir });
    assertFailed(r, 1, 'sftp');
    assert.deepEqual(await readdir(dir), [], 'nothing created in the working directory');
  });

  it('no password and no terminal is a usage error, not a hang', async () => {
    const dir = await tempDir();
    const { env } = await newRepo(dir);
    assertFailed(await ebak(['snapshots'], { EBAK_REPOSITORY: env.EBAK_REPOSITORY }), 1);
    assertCode(await ebak(['snapshots', '--json'], { EBAK_REPOSITORY: env.EBAK_REPOSITORY }), 1, 'USAGE');
  });

  it('an exclusive lock held by a live process makes backup exit 11 naming it', async () => {
    const dir = await tempDir();
    const { env } = await newRepo(dir);
    const src = join(dir, 'src');
    await mkdir(src);
    await writeFile(join(src, 'f'), 'x');
    const backend = await openBackend(env.EBAK_REPOSITORY, {});
    const repo = await Repository.open(backend, { password: env.EBAK_PASSWORD });
    const lock = await repo.lock('exclusive', () => undefined);
    try {
      const r = await ebak(['backup', src], env);
      assertFailed(r, 11, `pid ${process.pid}`);
      assertCode(await ebak(['backup', src, '--json'], env), 11, 'LOCKED');
    } finally {
      await lock.release();
      await backend.close();
    }
    assert.equal((await ebak(['backup', src], env)).code, 0, 'released: the backup runs');
  });
});

describe('command line', () => {
  it('an unknown command or flag exits 1 with one line', async () => {
    const dir = await tempDir();
    const { env } = await newRepo(dir);
    assertFailed(await ebak(['bakcup', '/tmp'], env), 1, 'bakcup');
    assertFailed(await ebak(['backup', '--bogus', '/tmp'], env), 1, '--bogus');
    assertFailed(await ebak(['restore', 'latest'], env), 1, '--target');
    assertCode(await ebak(['snapshots', '--frobnicate', '--json'], env), 1, 'USAGE');
  });

  it('restore of a snapshot that does not exist names it and creates nothing', async () => {
    const dir = await tempDir();
    const { env } = await newRepo(dir);
    const target = join(dir, 'out');
    assertFailed(await ebak(['restore', 'deadbeef', '--target', target], env), 1, 'deadbeef');
    assertCode(await ebak(['restore', 'deadbeef', '--target', target, '--json'], env), 1, 'NOT_FOUND');
    assertFailed(await ebak(['restore', 'latest', '--target', target], env), 1);
    assertCode(await ebak(['restore', 'latest', '--target', target, '--json'], env), 1, 'NOT_FOUND');
    assertFailed(await ebak(['restore', '../etc', '--target', target], env), 1, '../etc');
    await assert.rejects(stat(target), { code: 'ENOENT' });
  });
});

describe('unreadable source files', () => {
  it('are skipped with a warning naming each; the snapshot is made and the exit code is 3', async () => {
    const dir = await tempDir();
    const { env } = await newRepo(dir);
    const src = join(dir, 'src');
    await mkdir(join(src, 'closed-dir'), { recursive: true });
    await writeFile(join(src, 'readable.txt'), 'fine\n');
    await writeFile(join(src, 'secret.txt'), 'cannot read me\n');
    await writeFile(join(src, 'closed-dir', 'inside.txt'), 'hidden\n');
    await chmod(join(src, 'secret.txt'), 0o000);
    await chmod(join(src, 'closed-dir'), 0o000);
    // Root reads anything through CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH. Dropping both from the
    // bounding set makes a root process obey file modes (uid stays 0, so the repository stays writable).
    const prefix = process.getuid?.() === 0 ? ['setpriv', '--bounding-set', '-dac_override,-dac_read_search', '--'] : [];
    const r = await startEbak(['backup', src, '--json'], env, prefix).done.finally(() => chmod(join(src, 'closed-dir'), 0o700));
    assert.equal(r.code, 3, r.stderr);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning: /'));
    assert.equal(warnings.length, 2, r.stderr);
    assert.ok(warnings.some((w) => w.includes(join(src, 'secret.txt')) && /permission denied/.test(w)), r.stderr);
    assert.ok(warnings.some((w) => w.includes(join(src, 'closed-dir'))), r.stderr);
    assert.equal(errorLines(r.stderr).length, 0, 'a warning, not an error');
    const summary = backupSummary(r);
    assert.equal(summary.files_unreadable, 2);
    const snaps = JSON.parse((await ebak(['snapshots', '--json'], env)).stdout) as { id: string }[];
    assert.equal(snaps.length, 1);
    assert.equal(snaps[0]!.id, summary.snapshot_id);
    const out = join(dir, 'out');
    assert.equal((await ebak(['restore', 'latest', '--target', out], env)).code, 0);
    const restored = await fileDigests(join(out, dir));
    assert.ok(restored.has('src/readable.txt'));
    assert.ok(!restored.has('src/secret.txt') && !restored.has('src/closed-dir/inside.txt'));
  });
});

describe('a full disk', () => {
  /** `full` on a 3 MiB file system: the repository's disk, or TMPDIR's (where packs are written first, docs/format.md). */
  for (const full of ['repository', 'TMPDIR'] as const) {
    it(`a full ${full} fails with one line about space; after freeing space check passes and the next backup succeeds`, async () => {
      const dir = await tempDir();
      const mnt = join(dir, 'mnt');
      await mkdir(mnt);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mnt]);
      try {
        await fullDisk(dir, mnt, full);
        assert.deepEqual(full === 'TMPDIR' ? await readdir(mnt) : [], [], 'nothing left in TMPDIR');
      } finally {
        execFileSync('umount', [mnt]); // before tempDir's cleanup removes the mount point
      }
    });
  }
});

async function fullDisk(dir: string, mnt: string, full: 'repository' | 'TMPDIR'): Promise<void> {
    const env = full === 'repository'
      ? { EBAK_REPOSITORY: join(mnt, 'repo'), EBAK_PASSWORD: 'pw' }
      : { EBAK_REPOSITORY: join(dir, 'repo'), EBAK_PASSWORD: 'pw', TMPDIR: mnt };
    assert.equal((await ebak(['init'], env)).code, 0);
    const src = join(dir, 'src');
    await mkdir(src);
    await writeFile(join(src, 'random.bin'), randomBytes(10 << 20));
    await writeFile(join(src, 'note.txt'), 'note\n');
    const r = await ebak(['backup', src], env);
    assertFailed(r, 1);
    if (full === 'TMPDIR') assert.match(r.stderr, new RegExp(`temporary file in ${mnt}; TMPDIR chooses another`), 'the error says where and how to move it');
    assertCode(await ebak(['backup', src, '--json'], env), 1, 'NO_SPACE');
    assert.equal(JSON.parse((await ebak(['snapshots', '--json'], env)).stdout).length, 0, 'no snapshot from a failed backup');
    execFileSync('mount', ['-o', 'remount,size=64m', mnt]);
    const c = await ebak(['check', '--read-data'], env);
    assert.equal(c.code, 0, c.stdout + c.stderr);
    const leftovers = execFileSync('find', [env.EBAK_REPOSITORY, '-name', '*.tmp-*']).toString();
    assert.equal(leftovers, '', 'no temporary files left behind');
    assert.equal((await readdir(join(env.EBAK_REPOSITORY, 'locks'))).length, 0, 'the failed backup released its lock');
    const b = await ebak(['backup', src], env);
    assert.equal(b.code, 0, b.stderr);
    const out = join(dir, 'out');
    assert.equal((await ebak(['restore', 'latest', '--target', out], env)).code, 0);
    assert.deepEqual(await fileDigests(join(out, dir)), await fileDigests(dir, 'src'));
}
