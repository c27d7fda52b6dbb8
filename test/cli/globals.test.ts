/**
 * restic's global ways of naming the repository and the password, through
 * the real CLI: --repository-file / EBAK_REPOSITORY_FILE, --password-command
 * / EBAK_PASSWORD_COMMAND; their precedence, the mutual exclusions restic
 * has, and one-line refusals of an empty or failing source.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertFailed, ebak, newRepo, tempDir } from './harness.js';

const dir = await tempDir('ebak-globals-');
const { env } = await newRepo(dir, 'pw from a command');
const repo = env.EBAK_REPOSITORY!;
const repoFile = join(dir, 'repo.txt');
await writeFile(repoFile, `${repo}\nignored second line\n`);

describe('global options', () => {
  it('--repository-file and EBAK_REPOSITORY_FILE name the repository', async () => {
    assert.equal((await ebak(['snapshots', '--repository-file', repoFile], { EBAK_PASSWORD: env.EBAK_PASSWORD })).code, 0);
    assert.equal((await ebak(['snapshots'], { EBAK_REPOSITORY_FILE: repoFile, EBAK_PASSWORD: env.EBAK_PASSWORD })).code, 0);
    assertFailed(await ebak(['snapshots', '-r', repo, '--repository-file', repoFile], { EBAK_PASSWORD: env.EBAK_PASSWORD }), 1, 'mutually exclusive');
    assertFailed(await ebak(['snapshots', '--repository-file', join(dir, 'nope')], { EBAK_PASSWORD: env.EBAK_PASSWORD }), 1, 'nope');
  });

  it('--password-command and EBAK_PASSWORD_COMMAND give the password; a flag wins over the variables', async () => {
    const cmd = "printf 'pw from a command\\nsecond'";
    assert.equal((await ebak(['snapshots', '--password-command', cmd], { EBAK_REPOSITORY: repo })).code, 0);
    assert.equal((await ebak(['snapshots'], { EBAK_REPOSITORY: repo, EBAK_PASSWORD_COMMAND: cmd })).code, 0);
    assert.equal((await ebak(['snapshots', '--password-command', cmd], { EBAK_REPOSITORY: repo, EBAK_PASSWORD: 'wrong' })).code, 0, 'the flag wins');
    assertFailed(await ebak(['snapshots', '--password-command', cmd, '--password-file', repoFile], { EBAK_REPOSITORY: repo }), 1, 'mutually exclusive');
  });

  it('a failing command, an empty answer and an empty password file are refused, never tried as empty passwords', async () => {
    assertFailed(await ebak(['snapshots', '--password-command', 'exit 7'], { EBAK_REPOSITORY: repo }), 1, 'exit 7');
    assertFailed(await ebak(['snapshots', '--password-command', 'true'], { EBAK_REPOSITORY: repo }), 1, 'empty password');
    const empty = join(dir, 'empty');
    await writeFile(empty, '\n');
    assertFailed(await ebak(['snapshots', '--password-file', empty], { EBAK_REPOSITORY: repo }), 1, 'empty password');
    assertFailed(await ebak(['init', '--password-file', empty], { EBAK_REPOSITORY: join(dir, 'other') }), 1, 'empty password');
  });
});
