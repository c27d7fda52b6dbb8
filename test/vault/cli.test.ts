/**
 * The README demo flow through the real CLI: `ebak vault serve` in the
 * background → `ebak init --vault` → backup → `ebak login` on a "new device"
 * with only the password → restore; then device revocation, a wrong password,
 * `ebak audit`, and `ebak vault audit verify`.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertCode, assertFailed, ebak } from '../cli/harness.js';
import { startServer } from '../cli/server.js';
import { startPlatform } from './platform.js';
import { PIN, softhsm, type SoftHsm } from '../hsm/softhsm.js';

describe('vault CLI demo flow', () => {
  let dir: string;
  let token: SoftHsm;
  let url: string;
  let stops: (() => Promise<unknown>)[];
  let env: Record<string, string>;
  let invite: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ebak-vault-cli-'));
    token = softhsm(['vault']);
    stops = [];
    const platform = await startPlatform(dir);
    stops.push(platform.keyService.stop);
    const operatorKey = join(dir, 'operator.pem');
    assert.equal((await ebak(['vault', 'operator-key', '--out', operatorKey], {})).code, 0);
    const hsmEnv = { SOFTHSM2_CONF: process.env.SOFTHSM2_CONF!, EBAK_HSM_TOKEN: 'vault', EBAK_HSM_PIN: PIN };
    const vault = await startServer([
      'vault', 'serve', '--dir', join(dir, 'vault'), '--devca', platform.devca, '--listen', '127.0.0.1:0', '--guess-limit', '5',
      ...platform.kmsFlags, '--operator-key', `${operatorKey}.pub`,
    ], { ...hsmEnv, ...platform.credentials });
    stops.unshift(vault.stop);
    url = vault.url;
    env = { ...hsmEnv, EBAK_VAULT_ROOT: platform.root, EBAK_REPOSITORY: join(dir, 'repo') };
    const inv = await ebak(['vault', 'invite', '--operator-key-file', operatorKey, '--uses', '2', '--json'], {});
    assert.equal(inv.code, 0, inv.stderr);
    invite = (JSON.parse(inv.stdout) as { invite: string }).invite;
  });
  after(async () => {
    for (const stop of stops ?? []) await stop();
    token?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('init --vault, backup, login on a new machine with only the password, restore', async () => {
    const src = join(dir, 'src');
    await mkdir(src);
    await writeFile(join(src, 'a.txt'), 'vault-protected data\n');
    const first = { ...env, EBAK_CONFIG_DIR: join(dir, 'machine1'), EBAK_PASSWORD: 'correct horse battery' };
    const uninvited = await ebak(['init', '--vault', url, '-r', join(dir, 'uninvited')], first);
    assertFailed(uninvited, 20);
    assert.equal(existsSync(join(dir, 'uninvited')), false, 'a refused registration leaves no repository behind');
    const init = await ebak(['init', '--vault', url, '--vault-invite', invite, '--json'], first);
    assert.equal(init.code, 0, init.stderr);
    assert.match((JSON.parse(init.stdout) as { account: string }).account, /^r-[0-9a-f]{40}$/);
    const machine1 = { ...env, EBAK_CONFIG_DIR: join(dir, 'machine1') }; // no password: the device session opens it
    const backup = await ebak(['backup', src], machine1);
    assert.equal(backup.code, 0, backup.stderr);

    const machine2 = { ...env, EBAK_CONFIG_DIR: join(dir, 'machine2') };
    const wrong = await ebak(['login', '--vault', url], { ...machine2, EBAK_PASSWORD: 'wrong' });
    assertFailed(wrong, 12, '4 tries left');
    const login = await ebak(['login', '--vault', url, '--device', 'new-laptop'], { ...machine2, EBAK_PASSWORD: 'correct horse battery' });
    assert.equal(login.code, 0, login.stderr);
    const restore = await ebak(['restore', 'latest', '--target', join(dir, 'out')], machine2);
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal(await readFile(join(dir, 'out', src, 'a.txt'), 'utf8'), 'vault-protected data\n');

    // The new machine revokes the first one: its session stops working at once.
    const list = await ebak(['device', 'list', '--json'], machine2);
    assert.equal(list.code, 0, list.stderr);
    const devices = (JSON.parse(list.stdout) as { devices: { id: string; name: string; current: boolean }[] }).devices;
    assert.equal(devices.length, 2);
    const old = devices.find((d) => !d.current)!;
    assertFailed(await ebak(['device', 'revoke', old.id], machine2), 1, 'password');
    assertFailed(await ebak(['device', 'revoke', 'zz'], { ...machine2, EBAK_PASSWORD: 'correct horse battery' }), 1, 'no device');
    assert.equal((await ebak(['device', 'revoke', old.id.slice(0, 6)], { ...machine2, EBAK_PASSWORD: 'correct horse battery' })).code, 0, 'a prefix, as list prints it');
    assertFailed(await ebak(['snapshots'], machine1), 20, 'revoked');
    assertCode(await ebak(['snapshots', '--json'], machine1), 20, 'VAULT_REFUSED');

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
    const verify = await ebak(['vault', 'audit', 'verify', '--dir', join(dir, 'vault'), '--vault', url, '--operator-key-file', join(dir, 'operator.pem'), '--json'], env);
    assert.equal(verify.code, 0, verify.stderr);
    assert.ok((JSON.parse(verify.stdout) as { entries: number }).entries >= 8);
    // Pinned to this build's measurements by default: a log whose boots attest another image fails without --measurements.
    const other = join(dir, 'other-build.json');
    await writeFile(other, JSON.stringify({ Measurements: { PCR0: 'ab'.repeat(48), PCR1: 'ab'.repeat(48), PCR2: 'ab'.repeat(48) } }));
    assertFailed(await ebak(['vault', 'audit', 'verify', '--dir', join(dir, 'vault')], { ...env, EBAK_VAULT_MEASUREMENTS: other }), 22, 'PCR0');
    const operator = await ebak(['vault', 'status', '--vault', url, '--operator-key-file', join(dir, 'operator.pem'), '--json'], env);
    assert.equal(operator.code, 0, operator.stderr);
    assert.equal((JSON.parse(operator.stdout) as { accounts: number }).accounts, 1);
  });

  it('an unreachable vault and a mismatched PCR are one-line errors', async () => {
    assertFailed(await ebak(['vault', 'status', '--vault', 'https://127.0.0.1:1'], env), 1, 'unreachable');
    assertCode(await ebak(['vault', 'status', '--vault', 'https://127.0.0.1:1', '--json'], env), 1, 'VAULT');
    const bad = join(dir, 'bad-measurements.json');
    await writeFile(bad, JSON.stringify({ Measurements: { PCR0: 'ab'.repeat(48), PCR1: 'ab'.repeat(48), PCR2: 'ab'.repeat(48) } }));
    assertFailed(await ebak(['vault', 'status', '--vault', url], { ...env, EBAK_VAULT_MEASUREMENTS: bad }), 22, 'PCR0');
    assertCode(await ebak(['vault', 'status', '--vault', url, '--json'], { ...env, EBAK_VAULT_MEASUREMENTS: bad }), 22, 'ATTESTATION');
  });
});
