/**
 * Retention in vault mode through the real CLI and a real vault (`ebak vault
 * serve` on SoftHSM and the simulated key service): the lock lives in the
 * vault; a policy run keeps what it protects and says why; a named forget is
 * refused by the vault (exit 1, RETENTION, an audit entry) with nothing
 * removed; changing a governance lock needs the password (a step-up); a
 * frozen compliance lock cannot be removed; a hold; and a patched client
 * that deletes a locked snapshot from storage directly is caught by the next
 * command (ROLLBACK, exit 26).
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cliVaultSuite } from '../vault/platform.js';
import { assertCode, assertFailed, backupSummary, ebak, ebakOk, fileDigests } from './harness.js';

const PASSWORD = 'correct horse battery';

describe('retention lock and holds, vault mode', { timeout: 600_000 }, () => {
  const v = cliVaultSuite('ebak-ret-vault-', 10);
  let n = 0;



  /** A vault-mode repository with two snapshots; its env (a device session, no password) and the snapshot ids, oldest first. */
  async function vaultRepo(): Promise<{ env: Record<string, string>; repo: string; ids: string[] }> {
    const repo = join(v.dir, `repo${++n}`);
    const env = { ...v.base, EBAK_REPOSITORY: repo, EBAK_CONFIG_DIR: join(v.dir, `machine${n}`) };
    assert.equal((await ebak(['init', '--vault', v.url, '--vault-invite', v.invite], { ...env, EBAK_PASSWORD: PASSWORD })).code, 0);
    const src = join(v.dir, `src${n}`);
    await mkdir(src);
    const ids: string[] = [];
    for (const round of [1, 2]) {
      await writeFile(join(src, 'v.txt'), `round ${round}`);
      ids.push((backupSummary(await ebakOk(['backup', src, '--json'], env)) as { snapshot_id: string }).snapshot_id);
    }
    return { env, repo, ids };
  }

  const snapshotIds = async (env: Record<string, string>) => (JSON.parse((await ebakOk(['snapshots', '--json'], env)).stdout) as { id: string }[]).map((s) => s.id).sort();
  const auditTypes = async (env: Record<string, string>) => (JSON.parse((await ebakOk(['audit', '--json'], env)).stdout) as { entries: { type: string }[] }).entries.map((e) => e.type);

  it('the lock lives in the vault: a policy run keeps and says why, a named forget is refused by the vault and audited', async () => {
    const { env, repo, ids } = await vaultRepo();
    assertFailed(await ebak(['retention', 'lock', '--min-days', '30'], env), 1, 'password'); // setting a lock needs the password too
    await ebakOk(['retention', 'lock', '--min-days', '30'], { ...env, EBAK_PASSWORD: PASSWORD });
    const shown = JSON.parse((await ebakOk(['retention', 'show', '--json'], env)).stdout) as { lock: { min_days: number }; enforced_by: string };
    assert.deepEqual([shown.lock.min_days, shown.enforced_by], [30, 'vault']);

    const dry = await ebakOk(['forget', '--keep-last', '1', '--dry-run'], env);
    assert.match(dry.stdout, new RegExp(`keep +${ids[0]!.slice(0, 8)} .*\\(kept: retention lock until `));
    await ebakOk(['forget', '--keep-last', '1'], env);
    assert.deepEqual(await snapshotIds(env), [...ids].sort(), 'the policy run removed nothing the lock protects');

    const before = await fileDigests(join(repo, 'snapshots'));
    assertFailed(await ebak(['forget', ids[0]!], env), 1, ids[0]!.slice(0, 8));
    assertCode(await ebak(['forget', ids[0]!, '--json'], env), 1, 'RETENTION');
    assert.deepEqual(await fileDigests(join(repo, 'snapshots')), before, 'nothing removed');
    const types = await auditTypes(env);
    assert.equal(types.filter((t) => t === 'retention.refuse').length, 2, 'each refusal is in the audit log');
    assert.ok(types.includes('retention.lock'));
    await ebakOk(['snapshots'], env); // no alarm: nothing was marked pending, nothing is missing
  });

  it('a governance change needs the password (step-up); a frozen compliance lock cannot be removed', async () => {
    const { env } = await vaultRepo();
    const withPassword = { ...env, EBAK_PASSWORD: PASSWORD };
    await ebakOk(['retention', 'lock', '--min-days', '30'], withPassword);
    assertCode(await ebak(['retention', 'lock', '--min-days', '10', '--json'], env), 1, 'USAGE'); // the vault asked for a step-up; no password here
    assertCode(await ebak(['retention', 'unlock', '--json'], { ...env, EBAK_PASSWORD: 'wrong' }), 12, 'WRONG_KEY'); // a wrong password is a failed login, counted as a guess
    await ebakOk(['retention', 'lock', '--min-days', '10'], withPassword);
    await ebakOk(['retention', 'lock', '--min-days', '10', '--mode', 'compliance', '--changeable-for-days', '0'], withPassword);
    assertCode(await ebak(['retention', 'unlock', '--json'], withPassword), 1, 'RETENTION');
    assertCode(await ebak(['retention', 'lock', '--min-days', '5', '--mode', 'compliance', '--json'], withPassword), 1, 'RETENTION');
    assertCode(await ebak(['retention', 'lock', '--min-days', '10', '--max-days', '5', '--json'], withPassword), 1, 'USAGE');
    await ebakOk(['retention', 'lock', '--min-days', '20', '--mode', 'compliance'], withPassword);
    assert.equal((JSON.parse((await ebakOk(['retention', 'show', '--json'], env)).stdout) as { lock: { min_days: number } }).lock.min_days, 20);
  });

  it('a legal hold keeps its snapshot; one on a missing snapshot is one line', async () => {
    const { env, ids } = await vaultRepo();
    await ebakOk(['retention', 'hold', 'add', ids[0]!.slice(0, 8), '--reason', 'case 7'], env);
    assert.match((await ebakOk(['retention', 'hold', 'list'], env)).stdout, new RegExp(`${ids[0]!.slice(0, 8)} .*case 7`));
    assertCode(await ebak(['retention', 'hold', 'add', 'abcdef12', '--reason', 'x', '--json'], env), 1, 'NOT_FOUND');
    assert.match((await ebakOk(['forget', '--keep-last', '1', '--dry-run'], env)).stdout, /kept: legal hold: case 7/);
    assertCode(await ebak(['forget', ids[0]!, '--json'], env), 1, 'RETENTION');
    await ebakOk(['retention', 'hold', 'remove', ids[0]!.slice(0, 8)], { ...env, EBAK_PASSWORD: PASSWORD });
    await ebakOk(['forget', ids[0]!], env);
    assert.deepEqual(await snapshotIds(env), [ids[1]!]);
  });

  it('a patched client deleting a locked snapshot from storage directly is caught by the next command (exit 26)', async () => {
    const { env, repo, ids } = await vaultRepo();
    await ebakOk(['retention', 'lock', '--min-days', '30'], { ...env, EBAK_PASSWORD: PASSWORD });
    assert.ok((await readdir(join(repo, 'snapshots'))).includes(ids[0]!));
    await rm(join(repo, 'snapshots', ids[0]!)); // what a client that skips the vault's decision would do
    assertFailed(await ebak(['snapshots'], env), 26, ids[0]!.slice(0, 16));
    assertCode(await ebak(['forget', '--keep-last', '1', '--json'], env), 26, 'ROLLBACK');
  });
});
