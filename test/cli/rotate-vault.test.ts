/**
 * `ebak key rotate-master` in vault mode through the real CLI and a real
 * vault (`ebak vault serve` on SoftHSM and the simulated key service),
 * on a local repository: the rotating device re-wraps the vault's envelope
 * and the recovery key file; another device, whose file wraps the old key,
 * follows the vault's links and keeps working (its file re-wrapped); a new
 * machine logs in with the password although the config (which named the
 * account) changed; the recovery key opens it, and is refused a rotation of
 * its own; `--rewrite` renames snapshots and the other device sees no
 * rollback. Killed with kill -9 at seeded points, a vault-mode rotation
 * leaves a repository every key holder opens, and the next one finishes it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cliVaultSuite } from '../vault/platform.js';
import { assertCode, ebak, ebakOk, ROOT } from './harness.js';

const PASSWORD = 'correct horse battery';
const KILLER = join(ROOT, 'dist/test/cli/rotate-vault-killer.js');
const SEED = Number(process.env.EBAK_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
/**
 * Kill points sampled from the writes and deletes of the key steps (lock, key file, config twice,
 * removal, unlock; the vault's update lies between the key file and the first config): 1 in the
 * suite, a different one each run; scripts/soak-rotate.sh takes all (EBAK_TEST_ROTATE_VAULT_POINTS=0).
 */
const POINTS = Number(process.env.EBAK_TEST_ROTATE_VAULT_POINTS ?? 1);

describe('key rotate-master in vault mode', { timeout: POINTS === 0 ? 7_200_000 : 900_000 }, () => {
  const suite = cliVaultSuite('ebak-rotvault-', POINTS === 0 ? 16 : 4);
  let machines = 0;



  /** The CLI run by the killer (rotate-vault-killer.ts) with a machine's environment. */
  function killed(k: number, when: 'before' | 'after', args: string[], env: Record<string, string>): Promise<{ code: number | null; signal: string | null; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [KILLER, String(k), when, ...args], { env: { ...process.env, ...env, EBAK_PASSWORD: PASSWORD }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal, stderr }));
    });
  }

  const machine = (repo: string) => ({ ...suite.base, EBAK_REPOSITORY: repo, EBAK_CONFIG_DIR: join(suite.dir, `machine${++machines}`) });

  /** A vault repository with one backup, its initialising device, a second device logged in, and the recovery key's file. */
  async function vaultRepo(name: string) {
    const repo = join(suite.dir, name);
    const a = machine(repo);
    const init = JSON.parse((await ebakOk(['init', '--vault', suite.url, '--vault-invite', suite.invite, '--json'], { ...a, EBAK_PASSWORD: PASSWORD })).stdout) as { recovery_key: string; account: string };
    const recovery = join(suite.dir, `${name}.recovery`);
    await writeFile(recovery, init.recovery_key);
    const src = join(suite.dir, `src-${name}`);
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'a.bin'), Buffer.alloc(300_000, 1));
    await ebakOk(['backup', src], a);
    const b = machine(repo);
    await ebakOk(['login', '--vault', suite.url], { ...b, EBAK_PASSWORD: PASSWORD });
    return { repo, a, b, recovery, src, account: init.account };
  }

  /** Every key holder opens the repository: both devices, the password on a new machine, the recovery key. */
  async function everyoneOpens(v: Awaited<ReturnType<typeof vaultRepo>>, what: string): Promise<void> {
    for (const env of [v.a, v.b]) assert.equal((await ebak(['snapshots', '--json'], env)).code, 0, `${what}: a device opens it`);
    const c = machine(v.repo);
    const login = await ebak(['login', '--vault', suite.url], { ...c, EBAK_PASSWORD: PASSWORD });
    assert.equal(login.code, 0, `${what}: the password logs in: ${login.stderr}`);
    assert.equal((await ebak(['check', '--json'], c)).code, 0, `${what}: the new machine checks it`);
    const rec = await ebak(['snapshots', '--json', '--recovery-key-file', v.recovery], { EBAK_REPOSITORY: v.repo, EBAK_CONFIG_DIR: join(suite.dir, 'nobody') });
    assert.equal(rec.code, 0, `${what}: the recovery key opens it: ${rec.stderr}`);
    assert.ok(rec.stderr.split('\n').some((l) => l.startsWith('warning: ') && l.includes(v.account)), `${what}: the recovery key is told a vault holds it: ${rec.stderr}`);
  }

  it('rotates through the vault; every device, the password and the recovery key follow; --rewrite raises no alarm', async () => {
    const v = await vaultRepo('rotated');
    const bFile = join(v.b.EBAK_CONFIG_DIR, 'devices', `${v.account}.json`);
    const wrappedBefore = (JSON.parse(await readFile(bFile, 'utf8')) as { wrapped_key: string }).wrapped_key;
    const rot = JSON.parse((await ebakOk(['key', 'rotate-master', '--recovery-key-file', v.recovery, '--json'], { ...v.a, EBAK_PASSWORD: PASSWORD })).stdout) as { generation: number };
    assert.equal(rot.generation, 1);
    await ebakOk(['backup', v.src], v.b);
    assert.notEqual((JSON.parse(await readFile(bFile, 'utf8')) as { wrapped_key: string }).wrapped_key, wrappedBefore, 'the other device re-wrapped its file to the new key');
    await everyoneOpens(v, 'after the rotation');
    // The recovery key alone would leave the vault's envelopes behind: refused, nothing changed.
    const config = await readFile(join(v.repo, 'config'));
    assertCode(await ebak(['key', 'rotate-master', '--recovery-key-file', v.recovery, '--json'], { EBAK_REPOSITORY: v.repo, EBAK_CONFIG_DIR: join(suite.dir, 'nobody'), EBAK_PASSWORD: PASSWORD }), 1, 'USAGE');
    assert.deepEqual(await readFile(join(v.repo, 'config')), config);
    // --rewrite: snapshots are renamed; the other device sees no rollback, and the data checks.
    await ebakOk(['key', 'rotate-master', '--resume', '--rewrite', '--recovery-key-file', v.recovery, '--json'], { ...v.a, EBAK_PASSWORD: PASSWORD });
    const snaps = await ebakOk(['snapshots', '--json'], v.b);
    assert.equal((JSON.parse(snaps.stdout) as unknown[]).length, 2);
    assert.ok(!snaps.stderr.includes('does not know'), snaps.stderr);
    await ebakOk(['check', '--read-data'], v.b);
  });

  it(`a vault-mode rotation killed with kill -9 leaves a repository every key holder opens (seed ${SEED})`, async (t) => {
    const args = ['key', 'rotate-master', '--recovery-key-file'];
    // A run that is not killed counts the writes and deletes of the key steps.
    const counted = await vaultRepo('counted');
    const dry = await killed(0, 'before', [...args, counted.recovery], counted.a);
    assert.equal(dry.code, 0, dry.stderr);
    const total = Number(/mutations (\d+)/.exec(dry.stderr)![1]);
    const points = [...Array(total).keys()].flatMap((i) => [[i + 1, 'before'], [i + 1, 'after']] as const);
    let s = SEED;
    const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31);
    const sample = POINTS === 0 ? points : points.map((p) => [next(), p] as const).sort((x, y) => x[0] - y[0]).slice(0, POINTS).map(([, p]) => p);
    for (const [k, when] of sample) {
      const w = await vaultRepo(`killed-${k}-${when}`);
      const r = await killed(k, when, [...args, w.recovery], w.a);
      assert.equal(r.signal, 'SIGKILL', `killed ${when} write ${k} of ${total}: ${r.stderr}`);
      await everyoneOpens(w, `killed ${when} write ${k}`);
      await ebakOk([...args, w.recovery], { ...w.a, EBAK_PASSWORD: PASSWORD });
      await everyoneOpens(w, `finished after a kill ${when} write ${k}`);
      t.diagnostic(`killed ${when} write ${k} of ${total}: every key holder opens it, before and after the next rotation`);
    }
  });
});
