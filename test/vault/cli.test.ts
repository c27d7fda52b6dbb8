/**
 * The README demo flow through the real CLI: `ebak vault serve` in the
 * background → `ebak init --vault` → backup → `ebak login` on a "new device"
 * with only the password → restore; then device revocation, a wrong password,
 * `ebak audit`, and `ebak vault audit verify`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertFailed, ebak, startEbak } from '../cli/harness.js';
import { PIN, softhsm, type SoftHsm } from '../hsm/softhsm.js';

describe('vault CLI demo flow', () => {
  let dir: string;
  let token: SoftHsm;
  let url: string;
  let stopServe: () => Promise<void>;
  let env: Record<string, string>;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ebak-vault-cli-'));
    token = softhsm(['vault']);
    const hsmEnv = { SOFTHSM2_CONF: process.env.SOFTHSM2_CONF!, EBAK_HSM_TOKEN: 'vault', EBAK_HSM_PIN: PIN };
    const serve = startEbak(['vault', 'serve', '--dir', join(dir, 'vault'), '--listen', '127.0.0.1:0', '--guess-limit', '5'], hsmEnv);
    url = await new Promise<string>((resolve, reject) => {
      let out = '';
      serve.child.stdout!.on('data', (d) => {
        out += d;
        const m = /listening on (https:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      void serve.done.then((r) => reject(new Error(`vault serve exited: ${r.stderr}`)));
    });
    stopServe = async () => {
      serve.child.kill('SIGTERM');
      await serve.done;
    };
    env = { ...hsmEnv, EBAK_VAULT_ROOT: join(dir, 'vault', 'devca', 'root.pem'), EBAK_REPOSITORY: join(dir, 'repo') };
  });
  after(async () => {
    await stopServe?.();
    token?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('init --vault, backup, login on a new machine with only the password, restore', async () => {
    const src = join(dir, 'src');
    await mkdir(src);
    await writeFile(join(src, 'a.txt'), 'vault-protected data\n');
    const first = { ...env, EBAK_CONFIG_DIR: join(dir, 'machine1'), EBAK_PASSWORD: 'correct horse battery' };
    const init = await ebak(['init', '--vault', url, '--json'], first);
    assert.equal(init.code, 0, init.stderr);
    assert.match((JSON.parse(init.stdout) as { account: string }).account, /^r-[0-9a-f]{40}$/);
    const machine1 = { ...env, EBAK_CONFIG_DIR: join(dir, 'machine1') }; // no password: the device session opens it
    const backup = await ebak(['backup', src], machine1);
    assert.equal(backup.code, 0, backup.stderr);

    const machine2 = { ...env, EBAK_CONFIG_DIR: join(dir, 'machine2') };
    const wrong = await ebak(['login', '--vault', url], { ...machine2, EBAK_PASSWORD: 'wrong' });
    assertFailed(wrong, '4 tries left', 12);
    const login = await ebak(['login', '--vault', url, '--device', 'new-laptop'], { ...machine2, EBAK_PASSWORD: 'correct horse battery' });
    assert.equal(login.code, 0, login.stderr);
    const restore = await ebak(['restore', 'latest', '--target', join(dir, 'out')], machine2);
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal(await readFile(join(dir, 'out', 'src', 'a.txt'), 'utf8'), 'vault-protected data\n');

    // The new machine revokes the first one: its session stops working at once.
    const list = await ebak(['device', 'list', '--json'], machine2);
    assert.equal(list.code, 0, list.stderr);
    const devices = (JSON.parse(list.stdout) as { devices: { id: string; name: string; current: boolean }[] }).devices;
    assert.equal(devices.length, 2);
    const old = devices.find((d) => !d.current)!;
    assert.equal((await ebak(['device', 'revoke', old.id], machine2)).code, 0);
    assertFailed(await ebak(['snapshots'], machine1), 'revoked');

    const audit = await ebak(['audit', '--json'], machine2);
    const types = (JSON.parse(audit.stdout) as { entries: { type: string }[] }).entries.map((e) => e.type);
    for (const t of ['register', 'login.attempt', 'login.ok', 'key.release', 'device.revoke']) assert.ok(types.includes(t), `${t} in ${types}`);
  });

  it('vault status, measure, and audit verify (chain, signatures, attested keys, sealed head)', async () => {
    const status = await ebak(['vault', 'status', '--vault', url, '--json'], env);
    assert.equal(status.code, 0, status.stderr);
    const measure = await ebak(['vault', 'measure', '--json'], env);
    const pcr0 = (JSON.parse(measure.stdout) as { Measurements: { PCR0: string } }).Measurements.PCR0;
    assert.equal((JSON.parse(status.stdout) as { pcrs: { PCR0: string } }).pcrs.PCR0, pcr0);
    const verify = await ebak(['vault', 'audit', 'verify', '--dir', join(dir, 'vault'), '--json'], env);
    assert.equal(verify.code, 0, verify.stderr);
    assert.ok((JSON.parse(verify.stdout) as { entries: number }).entries >= 8);
  });

  it('an unreachable vault and a mismatched PCR are one-line errors', async () => {
    assertFailed(await ebak(['vault', 'status', '--vault', 'https://127.0.0.1:1'], env), 'unreachable');
    const bad = join(dir, 'bad-measurements.json');
    await writeFile(bad, JSON.stringify({ Measurements: { PCR0: 'ab'.repeat(48), PCR1: 'ab'.repeat(48), PCR2: 'ab'.repeat(48) } }));
    assertFailed(await ebak(['vault', 'status', '--vault', url], { ...env, EBAK_VAULT_MEASUREMENTS: bad }), 'PCR0');
  });
});
