/**
 * The vault on SEV-SNP (simulated): `ebak vault serve --platform sev-snp`
 * answers SNP evidence signed by a dev VCEK chain; the CLI signs up, backs up,
 * logs in and restores through it under the SNP trust policy, and verifies its
 * audit log's SNP boots; a client that accepts Nitro only, or pins another
 * measurement, refuses it. In-process:
 * the debug rule, the minimum TCB and a Nitro vault refused by an SNP-only client.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AttestationError, createDevSnpChain, DEFAULT_POLICY, POLICY, SimulatedSnp, snpLaunchMeasurement } from '../../src/attestation/index.js';
import { VaultClient } from '../../src/vault/client/client.js';
import type { VaultTrust } from '../../src/vault/client/transport.js';
import { SnpAttester } from '../../src/vault/enclave/attester.js';
import { vaultBundle, vaultSnpMeasurement } from '../../src/vault/measure.js';
import { assertCode, ebak, jsonError } from '../cli/harness.js';
import { startServer } from '../cli/server.js';
import { PIN, softhsm, type SoftHsm } from '../hsm/softhsm.js';
import { lab, type Lab } from './helpers.js';
import { startPlatform } from './platform.js';
import { snpFile } from '../attestation/snp-vectors.js';

const refusedBy = (check: string) => (e: unknown) => e instanceof AttestationError && e.check === check;

describe('a simulated SEV-SNP vault through the CLI', () => {
  let dir: string;
  let token: SoftHsm;
  let url: string;
  let chainPem: string;
  let devRoot: string;
  let stops: (() => Promise<unknown>)[];
  let env: Record<string, string>;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ebak-vault-snp-'));
    token = softhsm(['vault']);
    stops = [];
    const platform = await startPlatform(dir);
    stops.push(platform.keyService.stop);
    devRoot = platform.root;
    const chain = await ebak(['vault', 'devca', '--platform', 'sev-snp', '--snp-devchain', join(dir, 'snp'), '--json'], {});
    assert.equal(chain.code, 0, chain.stderr);
    chainPem = (JSON.parse(chain.stdout) as { chain: string }).chain;
    const hsmEnv = { SOFTHSM2_CONF: process.env.SOFTHSM2_CONF!, EBAK_HSM_TOKEN: 'vault', EBAK_HSM_PIN: PIN };
    const vault = await startServer([
      'vault', 'serve', '--platform', 'sev-snp', '--snp-devchain', join(dir, 'snp'), '--dir', join(dir, 'vault'), '--devca', platform.devca,
      '--listen', '127.0.0.1:0', '--registration', 'open', ...platform.kmsFlags,
    ], { ...hsmEnv, ...platform.credentials });
    stops.unshift(vault.stop);
    url = vault.url;
    env = { EBAK_VAULT_PLATFORM: 'sev-snp', EBAK_VAULT_SNP_CHAIN: chainPem, EBAK_REPOSITORY: join(dir, 'repo') };
  });
  after(async () => {
    for (const stop of stops ?? []) await stop();
    token?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('vault measure --platform sev-snp prints the launch measurement; the Nitro output keeps its shape', async () => {
    const snp = await ebak(['vault', 'measure', '--platform', 'sev-snp'], {});
    assert.equal(snp.code, 0, snp.stderr);
    assert.equal(snp.stdout.trim(), vaultSnpMeasurement());
    assert.match(snp.stdout.trim(), /^[0-9a-f]{96}$/);
    const nitro = await ebak(['vault', 'measure', '--json'], {});
    assert.deepEqual(Object.keys((JSON.parse(nitro.stdout) as { Measurements: object }).Measurements), ['HashAlgorithm', 'PCR0', 'PCR1', 'PCR2']);
  });

  it('init --vault, backup, login on a new machine and restore, under the SEV-SNP trust policy', async () => {
    const src = join(dir, 'src');
    await mkdir(src);
    await writeFile(join(src, 'a.txt'), 'kept by an SNP vault\n');
    const machine1 = { ...env, EBAK_CONFIG_DIR: join(dir, 'machine1') };
    const init = await ebak(['init', '--vault', url, '--json'], { ...machine1, EBAK_PASSWORD: 'correct horse battery' });
    assert.equal(init.code, 0, init.stderr);
    const backup = await ebak(['backup', src], { EBAK_CONFIG_DIR: machine1.EBAK_CONFIG_DIR, EBAK_REPOSITORY: env.EBAK_REPOSITORY }); // the device file holds the policy
    assert.equal(backup.code, 0, backup.stderr);
    const machine2 = { EBAK_CONFIG_DIR: join(dir, 'machine2'), EBAK_REPOSITORY: env.EBAK_REPOSITORY };
    const login = await ebak(['login', '--vault', url, '--vault-platform', 'sev-snp', '--snp-chain', chainPem], { ...machine2, EBAK_PASSWORD: 'correct horse battery' });
    assert.equal(login.code, 0, login.stderr);
    const restore = await ebak(['restore', 'latest', '--target', join(dir, 'out')], machine2);
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal(await readFile(join(dir, 'out', src, 'a.txt'), 'utf8'), 'kept by an SNP vault\n');
  });

  it("vault audit verify checks the SNP vault's boots by the SNP policy, and refuses them without it", async () => {
    const args = ['vault', 'audit', 'verify', '--dir', join(dir, 'vault'), '--root', devRoot, '--json'];
    const ok = await ebak([...args, '--vault-platform', 'sev-snp', '--snp-chain', chainPem], {});
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok((JSON.parse(ok.stdout) as { boots: number }).boots >= 1);
    assertCode(await ebak(args, {}), 22, 'ATTESTATION');
    assertCode(await ebak([...args, '--vault-platform', 'sev-snp', '--snp-chain', chainPem, '--snp-measurement', 'ab'.repeat(48)], {}), 22, 'ATTESTATION');
  });

  it('a client accepting both platforms connects; one pinned to Nitro only refuses, naming the platform', async () => {
    const both = await ebak(['vault', 'status', '--vault', url, '--json'], { ...env, EBAK_VAULT_PLATFORM: 'nitro,sev-snp' });
    assert.equal(both.code, 0, both.stderr);
    const nitroOnly = await ebak(['vault', 'status', '--vault', url, '--json'], {});
    assertCode(nitroOnly, 22, 'ATTESTATION');
    assert.ok(jsonError(nitroOnly).message.includes('sev-snp'));
  });

  it('a client pinning another measurement, or without the chain, refuses it', async () => {
    const wrong = await ebak(['vault', 'status', '--vault', url, '--snp-measurement', 'ab'.repeat(48), '--json'], env);
    assertCode(wrong, 22, 'ATTESTATION');
    assertCode(await ebak(['vault', 'status', '--vault', url, '--json'], { EBAK_VAULT_PLATFORM: 'sev-snp' }), 1, 'USAGE');
    assertCode(await ebak(['vault', 'status', '--vault', url, '--json'], { ...env, EBAK_VAULT_PLATFORM: 'tdx' }), 1, 'USAGE');
  });

  it('refuses --platform sev-snp in nitro mode (no /dev/sev-guest here)', async () => {
    assertCode(await ebak(['vault', 'serve', '--platform', 'sev-snp', '--mode', 'nitro', '--json'], {}), 1, 'USAGE');
  });
});

describe('the SEV-SNP trust policy of the attested channel', () => {
  let l: Lab;
  const chain = createDevSnpChain();
  const measurement = snpLaunchMeasurement(vaultBundle());
  const chainPem = Buffer.from(chain.ask.toString() + chain.ark.toString());
  const snpVault = (policy = DEFAULT_POLICY) => {
    const snp = new SimulatedSnp(chain, { measurement, policy });
    return new SnpAttester({ vcek: chain.vcek.cert.raw, chipId: chain.chipId, report: (d) => snp.report(d) });
  };
  let trust: VaultTrust;
  before(async () => {
    l = await lab();
    trust = { ...l.trust, platforms: ['sev-snp'], snp: { chain: chainPem, roots: [chain.ark], measurement } };
  });
  after(() => l?.cleanup());

  it('connects to an SNP vault, and binds the TLS key it talks to', async () => {
    const v = await l.start({ attester: snpVault() });
    try {
      const c = await VaultClient.connect(v.url, trust);
      assert.equal(c.channel.document.platform, 'sev-snp');
      const other = Buffer.from(measurement);
      other[0]! ^= 1;
      await assert.rejects(VaultClient.connect(v.url, { ...trust, snp: { ...trust.snp!, measurement: other } }), refusedBy('measurement'));
      assert.deepEqual(Buffer.from(c.channel.document.publicKey!), v.tlsSpki());
      c.channel.close();
    } finally {
      await v.stop();
    }
  });

  it('refuses a debug guest unless allowed, a TCB below the minimum, and a Nitro vault when only sev-snp is accepted', async () => {
    const debug = await l.start({ attester: snpVault(DEFAULT_POLICY | (1n << POLICY.debug)) });
    try {
      await assert.rejects(VaultClient.connect(debug.url, trust), refusedBy('debug'));
      (await VaultClient.connect(debug.url, { ...trust, allowDebug: true })).channel.close();
      const minTcb = { ...chain.tcb, ucode: chain.tcb.ucode + 1 };
      await assert.rejects(VaultClient.connect(debug.url, { ...trust, allowDebug: true, snp: { ...trust.snp!, minTcb } }), refusedBy('tcb'));
    } finally {
      await debug.stop();
    }
    const nitro = await l.start();
    try {
      await assert.rejects(VaultClient.connect(nitro.url, trust), refusedBy('platform'));
      (await VaultClient.connect(nitro.url, { ...trust, platforms: ['nitro', 'sev-snp'] })).channel.close();
    } finally {
      await nitro.stop();
    }
  });

  it('keeps the dev chain off AMD: pinned to the real Milan chain, the vault is refused', async () => {
    const amd = snpFile('amd-ask-ark-milan.pem');
    const ark = new X509Certificate(amd.toString('latin1').split(/(?=-----BEGIN CERTIFICATE-----)/)[1]!);
    const v = await l.start({ attester: snpVault() });
    try {
      await assert.rejects(VaultClient.connect(v.url, { ...trust, snp: { chain: amd, roots: [ark], measurement } }), refusedBy('chain'));
    } finally {
      await v.stop();
    }
  });
});
