/**
 * `ebak key passwd` (restic's) through the real CLI: the key this session
 * opened is replaced by one for the new password (the old password stops
 * working, the other keys stay); a recovery-key session and a missing or
 * empty new password are refused, and leave the keys as they were.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertCode, ebak, newRepo, tempDir } from './harness.js';

type Key = { id: string; kind: string };

describe('ebak key passwd', () => {
  it('replaces the password key this session opened; the recovery key stays', async () => {
    const dir = await tempDir('ebak-passwd-');
    const { env } = await newRepo(dir, 'old password');
    const keys = async (e: Record<string, string | undefined>) => JSON.parse((await ebak(['key', 'list', '--json'], e)).stdout) as Key[];
    const before = await keys(env);
    const pwFile = join(dir, 'new-pw');
    await writeFile(pwFile, 'new password\n');
    const r = await ebak(['key', 'passwd', '--new-password-file', pwFile, '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const { added, removed } = JSON.parse(r.stdout) as { added: string; removed: string };
    const oldPassword = before.find((k) => k.kind === 'password')!;
    assert.equal(removed, oldPassword.id);
    const after = await keys(env);
    assert.deepEqual(after.map((k) => k.id).sort(), [added, before.find((k) => k.kind === 'recovery')!.id].sort());
    assertCode(await ebak(['snapshots', '--json'], env), 12, 'WRONG_KEY');
    assert.equal((await ebak(['snapshots'], { ...env, EBAK_PASSWORD: 'new password' })).code, 0);
  });

  it('refuses a recovery-key session, and a missing or empty new password, changing nothing', async () => {
    const dir = await tempDir('ebak-passwd-');
    const { env, recoveryKey } = await newRepo(dir);
    const list = async () => (await ebak(['key', 'list', '--json'], env)).stdout;
    const before = await list();
    const rkFile = join(dir, 'rk');
    const pwFile = join(dir, 'new-pw');
    const empty = join(dir, 'empty');
    await writeFile(rkFile, recoveryKey);
    await writeFile(pwFile, 'new password');
    await writeFile(empty, '\n');
    assertCode(await ebak(['key', 'passwd', '--new-password-file', pwFile, '--json'], { ...env, EBAK_PASSWORD: undefined, EBAK_RECOVERY_KEY_FILE: rkFile }), 1, 'USAGE');
    assertCode(await ebak(['key', 'passwd', '--new-password-file', join(dir, 'missing'), '--json'], env), 1, 'NOT_FOUND');
    assertCode(await ebak(['key', 'passwd', '--new-password-file', empty, '--json'], env), 1, 'USAGE');
    assert.equal(await list(), before);
  });
});
