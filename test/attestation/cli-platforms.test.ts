/** `ebak attestation verify` for SEV-SNP reports and TPM quotes, through the real CLI (test/cli/harness.ts). */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ebak, tempDir } from '../cli/harness.js';
import { FIXTURES as NITRO, loadVectors } from './helpers.js';
import { SNP, TPM } from './snp-vectors.js';

const snp = (f: string) => join(SNP, f);
const tpm = (f: string) => join(TPM, f);
const ATTESTATION = 22;
const USAGE_EXIT = 1;

const virtee = [snp('virtee-milan-v2-report.bin'), '--cert', snp('virtee-milan-vcek.der'), '--chain', snp('amd-ask-ark-milan.pem'), '--at', '2024-01-01T00:00:00Z'];
const gsg = [snp('gsg-milan-v2-report.bin'), '--cert', snp('gsg-milan-vcek.der'), '--chain', snp('amd-ask-ark-milan.pem'), '--at', '2024-01-01T00:00:00Z'];

/** Exit 22 with one line on stderr naming the failed check. */
async function refused(args: string[], check: string): Promise<void> {
  const r = await ebak(['attestation', 'verify', ...args]);
  assert.equal(r.code, ATTESTATION, r.stderr);
  assert.match(r.stderr.split('\n')[0]!, new RegExp(`attestation ${check} check failed`));
}

describe('ebak attestation verify --platform sev-snp', () => {
  it('prints the decoded fields, with or without --platform', async () => {
    for (const platform of [['--platform', 'sev-snp'], []]) {
      const r = await ebak(['attestation', 'verify', ...virtee, ...platform, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const json = JSON.parse(r.stdout) as Record<string, unknown>;
      assert.equal(json.platform, 'sev-snp');
      assert.equal(json.version, 2);
      assert.equal(json.signing_key, 'VCEK');
      assert.equal(json.policy, '0x0000000000030000');
      assert.match(json.measurement as string, /^7a1e5c26/);
      for (const key of ['report_data', 'host_data', 'chip_id', 'reported_tcb']) assert.ok(key in json, key);
    }
  });

  it('pins the measurement, report_data and minimum TCB', async () => {
    const m = '7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f';
    const data = 'd447b55d197491bfe15cf298f9de9986b7a7c4be2468b4f6e2d53b71d7c645810b0f2cdfca0040433be063fc1a8293f0f3f8dae7b79fecb3d1cd82bd6a93ebfd';
    assert.equal((await ebak(['attestation', 'verify', ...virtee, '--expect-measurement', m, '--min-tcb', '3/0/8/115', '--report-data', data])).code, 0);
    await refused([...virtee, '--expect-measurement', `${m.slice(0, -2)}00`], 'measurement');
    await refused([...virtee, '--report-data', 'd447b55d'], 'report-data'); // zero-padded: a prefix is not the binding
    await refused([...virtee, '--min-tcb', '3/0/9/115'], 'tcb');
  });

  it('refuses a debug guest unless --allow-debug, an expired VLEK, another chip\'s key', async () => {
    await refused(gsg, 'debug');
    assert.equal((await ebak(['attestation', 'verify', ...gsg, '--allow-debug'])).code, 0);
    const aws = [snp('aws-milan-v3-vlek-report-trustee.bin'), '--cert', snp('aws-milan-vlek-us-east-2-trustee.der'), '--chain', snp('amd-ask-ark-milan_vlek.pem')];
    assert.equal((await ebak(['attestation', 'verify', ...aws, '--at', '2024-12-23T00:00:00Z'])).code, 0);
    await refused(aws, 'validity');
    await refused([snp('gsg-milan-v2-report.bin'), '--cert', snp('trustee-milan-vcek.der'), '--chain', snp('amd-ask-ark-milan.pem'), '--allow-debug', '--at', '2024-01-01T00:00:00Z'], 'signature');
  });

  it('bad usage exits 1', async () => {
    for (const args of [[snp('virtee-milan-v2-report.bin'), '--platform', 'sev-snp'], [...virtee, '--min-tcb', '3/0/8'], [...virtee, '--platform', 'sgx'],
      [...virtee, '--report-data', '00'.repeat(65)]]) {
      assert.equal((await ebak(['attestation', 'verify', ...args])).code, USAGE_EXIT, args.join(' '));
    }
  });
});

describe('ebak attestation verify --platform tpm', () => {
  const quote = [tpm('gce-cos85-nonce9009-quote-sha256-bank.attest'), '--signature', tpm('gce-cos85-nonce9009-quote-sha256-bank.tpmt_signature'),
    '--ak-cert', tpm('gce-cos85-akcert.der'), '--chain', tpm('google-tpm-ek-chain.pem'), '--nonce', '9009'];

  it('verifies a quote with its event log, with or without --platform', async () => {
    const pcrs = JSON.parse((await import('node:fs')).readFileSync(tpm('gce-cos85-sha256-pcrs.json'), 'utf8')) as Record<string, string>;
    for (const platform of [['--platform', 'tpm'], []]) {
      const r = await ebak(['attestation', 'verify', ...quote, ...platform, '--event-log', tpm('gce-cos85-event-log.bin'), '--expect-pcr', `10=${pcrs[10]}`, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const json = JSON.parse(r.stdout) as { platform: string; nonce: string; pcrs: Record<string, string> };
      assert.equal(json.platform, 'tpm');
      assert.equal(json.nonce, '9009');
      assert.equal(json.pcrs[0], pcrs[0]);
    }
  });

  it('names the failed check', async () => {
    await refused([...quote.slice(0, -1), '9010'], 'nonce');
    await refused([...quote, '--expect-pcr', `0=${'00'.repeat(32)}`], 'pcr');
    await refused([...quote, '--event-log', tpm('gce-cos85-nonce9009-quote-sha1-bank.attest')], 'event-log');
  });

  it('requires the signature, AK certificate, chain and nonce', async () => {
    for (const drop of ['--signature', '--ak-cert', '--chain', '--nonce']) {
      const i = quote.indexOf(drop);
      assert.equal((await ebak(['attestation', 'verify', ...quote.slice(0, i), ...quote.slice(i + 2)])).code, USAGE_EXIT, drop);
    }
  });
});

describe('ebak attestation verify: recognising the format', () => {
  it('a Nitro document is recognised; an unknown file needs --platform', async () => {
    const [v] = loadVectors();
    const r = await ebak(['attestation', 'verify', join(NITRO, v!.file), '--root', join(NITRO, 'aws-nitro-root-g1.pem'), '--at', v!.at.toISOString(),
      '--max-age', String(v!.maxAgeSeconds)]);
    assert.equal(r.code, 0, r.stderr);
    const other = join(await tempDir('ebak-att-'), 'other.bin');
    await writeFile(other, 'neither');
    assert.equal((await ebak(['attestation', 'verify', other])).code, USAGE_EXIT);
  });
});
