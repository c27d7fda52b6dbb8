/**
 * Bad input is one error line naming what is wrong (issue 14, item 15):
 * a missing or empty new-password file, an empty pattern.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertCode, assertFailed, ebak, newRepo, tempDir } from './harness.js';

describe('input errors', () => {
  it('key add --new-password-file of a missing file: one line naming the file, no key added', async () => {
    const dir = await tempDir();
    const { env } = await newRepo(dir);
    const missing = join(dir, 'nonexistent');
    assertFailed(await ebak(['key', 'add', '--new-password-file', missing], env), 1, missing);
    assertCode(await ebak(['key', 'add', '--new-password-file', missing, '--json'], env), 1, 'NOT_FOUND');
    assert.equal((await readdir(join(dir, 'repo', 'keys'))).length, 2); // the password key and the recovery key of init
  });

  it('key add with an empty password file is refused (no empty-password key)', async () => {
    const dir = await tempDir();
    const { env } = await newRepo(dir);
    const empty = join(dir, 'empty');
    await writeFile(empty, '\n');
    assertFailed(await ebak(['key', 'add', '--new-password-file', empty], env), 1, empty);
    assertCode(await ebak(['key', 'add', '--new-password-file', empty, '--json'], env), 1, 'USAGE');
    assert.equal((await readdir(join(dir, 'repo', 'keys'))).length, 2);
    // Opening with an empty password file is refused too: an empty password is never tried.
    assertFailed(await ebak(['snapshots', '--password-file', empty], { EBAK_REPOSITORY: env.EBAK_REPOSITORY }), 1, 'empty password');
  });

  it('an empty --exclude (backup, restore) or --include is a bad pattern, one line naming the flag', async () => {
    const dir = await tempDir();
    const { env } = await newRepo(dir);
    const src = join(dir, 'src');
    await mkdir(src);
    await writeFile(join(src, 'f'), 'x');
    assertFailed(await ebak(['backup', src, '--exclude', ''], env), 1, '--exclude');
    assertCode(await ebak(['backup', src, '--exclude', '', '--json'], env), 1, 'USAGE');
    assert.equal((await ebak(['backup', src], env)).code, 0);
    for (const flag of ['--exclude', '--include']) assertFailed(await ebak(['restore', 'latest', '--target', join(dir, 'out'), flag, ''], env), 1, flag);
  });
});
