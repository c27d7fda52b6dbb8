// `ebak keyservice create-key` and `ebak keyservice serve` through the real CLI, and the enclave client against it.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createDevCa, SimulatedNsm } from '../../src/attestation/index.js';
import { RecipientKms } from '../../src/kms/client.js';
import { ebak, errorLines } from '../cli/harness.js';
import { startServer } from '../cli/server.js';
import { BUNDLE, CREDENTIALS, attestedPolicy, rejectsWith } from './helpers.js';

const ENV = { AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey };

describe('ebak keyservice', () => {
  let dir: string;
  const ca = createDevCa();
  const enclave = new SimulatedNsm(ca, { bundle: BUNDLE });
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ebak-keyservice-cli-'));
    writeFileSync(join(dir, 'root.pem'), ca.root.cert.toString());
    writeFileSync(join(dir, 'policy.json'), JSON.stringify(attestedPolicy(enclave.pcrs)));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('create-key prints the key id (and --json), serve answers the enclave client, and refuses another image', async () => {
    const made = await ebak(['keyservice', 'create-key', '--dir', join(dir, 'ks'), '--policy', join(dir, 'policy.json'), '--json']);
    assert.equal(made.code, 0, made.stderr);
    const { KeyId, Arn } = JSON.parse(made.stdout) as { KeyId: string; Arn: string };
    assert.match(Arn, new RegExp(`^arn:aws:kms:us-east-1:\\d{12}:key/${KeyId}$`));
    const plain = await ebak(['keyservice', 'create-key', '--dir', join(dir, 'ks')]);
    assert.match(plain.stdout, /^[0-9a-f-]{36}\n$/);

    const serve = await startServer(['keyservice', 'serve', '--dir', join(dir, 'ks'), '--listen', '127.0.0.1:0', '--root', join(dir, 'root.pem')], ENV);
    const url = serve.url;
    const client = (attester = enclave) => new RecipientKms({
      keyId: Arn, region: 'us-east-1', endpoint: url, ca: readFileSync(join(dir, 'ks', 'tls', 'cert.pem')), credentials: CREDENTIALS, attester,
    });
    const kms = client();
    const other = client(new SimulatedNsm(ca, { bundle: Buffer.from('another image') }));
    try {
      const { plaintext, ciphertextBlob } = await kms.generateDataKey({ ebak: 'cli' });
      assert.deepEqual(await kms.decrypt(ciphertextBlob, { ebak: 'cli' }), plaintext);
      await rejectsWith(other.decrypt(ciphertextBlob, { ebak: 'cli' }), 'VAULT', 'AccessDeniedException');
    } finally {
      kms.close();
      other.close();
      assert.equal((await serve.stop()).code, 0);
    }
  });

  it('refuses a malformed policy, a missing --root and missing credentials with one error line', async () => {
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', NotResource: '*' }] }));
    const cases = [
      await ebak(['keyservice', 'create-key', '--dir', join(dir, 'ks2'), '--policy', join(dir, 'bad.json')]),
      await ebak(['keyservice', 'serve', '--dir', join(dir, 'ks2')], ENV),
      await ebak(['keyservice', 'serve', '--dir', join(dir, 'ks2'), '--root', join(dir, 'root.pem')]),
      await ebak(['keyservice', 'rotate']),
    ];
    for (const r of cases) {
      assert.equal(r.code, 1);
      assert.equal(errorLines(r.stderr).length, 1, r.stderr);
    }
  });
});
