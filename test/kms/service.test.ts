// The enclave's KMS client against the simulated key service over real HTTPS, with the real AWS SDK and
// SimulatedNsm attestation documents signed by a dev CA: what is released, to whom, and what is refused.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:tls';
import { DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { createDevCa, SimulatedNsm } from '../../src/attestation/index.js';
import { openRecipientEnvelope } from '../../src/kms/cms.js';
import { createKey } from '../../src/kms/simulated/index.js';
import { BUNDLE, CREDENTIALS, attestedPolicy, rejectsWith, startFixture, type Fixture } from './helpers.js';

const CONTEXT = { purpose: 'vault-seal', vault: 'v1' };
let f: Fixture;
before(async () => { f = await startFixture(); });
after(async () => { await f.stop(); });

describe('released to the attested enclave', () => {
  it('GenerateDataKey then Decrypt give the same 32-byte key, for a document with the policy PCRs', async () => {
    const kms = f.client();
    const { plaintext, ciphertextBlob } = await kms.generateDataKey(CONTEXT);
    assert.equal(plaintext.length, 32);
    assert.deepEqual(await kms.decrypt(ciphertextBlob, CONTEXT), plaintext);
  });

  it('Encrypt (provisioning, no attestation) then Decrypt with Recipient', async () => {
    const pin = Buffer.from('1234-5678');
    const blob = await f.client().encrypt(pin, CONTEXT);
    assert.deepEqual(await f.client().decrypt(blob, CONTEXT), pin);
  });

  it('keeps its key and TLS private key files 0600 in its own directory', () => {
    assert.equal(statSync(join(f.dir, 'keys', `${f.keyId}.json`)).mode & 0o777, 0o600);
    assert.equal(statSync(join(f.dir, 'tls', 'key.pem')).mode & 0o777, 0o600);
  });
});

describe('refused', () => {
  let blob: Buffer;
  before(async () => { blob = await f.client().encrypt(Buffer.from('secret'), CONTEXT); });

  it('a document with another PCR0 (another image): AccessDenied', async () => {
    const other = new SimulatedNsm(f.ca, { bundle: Buffer.from('a different image') });
    await rejectsWith(f.client({ attester: other }).decrypt(blob, CONTEXT), 'VAULT', 'AccessDeniedException');
    await rejectsWith(f.client({ attester: other }).generateDataKey(CONTEXT), 'VAULT', 'AccessDeniedException');
  });

  it('a document with the right PCR0 but another PCR the policy names: AccessDenied', async () => {
    const pcrs = new Map(f.enclave.pcrs);
    pcrs.set(2, randomBytes(48));
    const { KeyId } = await createKey(f.dir, { policy: attestedPolicy(pcrs) });
    const kms = f.client({ keyId: KeyId });
    const mine = await kms.encrypt(Buffer.from('x'), CONTEXT);
    await rejectsWith(kms.decrypt(mine, CONTEXT), 'VAULT', 'AccessDeniedException');
  });

  it('Decrypt without Recipient, when the policy allows Decrypt only with attestation conditions', async () => {
    const sdk = new KMSClient({ region: 'us-east-1', endpoint: f.service.url, credentials: CREDENTIALS, requestHandler: { httpsAgent: { ca: f.service.ca } } });
    try {
      await assert.rejects(sdk.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: CONTEXT })), { name: 'AccessDeniedException' });
    } finally {
      sdk.destroy();
    }
  });

  it('a document from another root', async () => {
    const rogue = new SimulatedNsm(createDevCa(), { bundle: BUNDLE });
    await rejectsWith(f.client({ attester: rogue }).decrypt(blob, CONTEXT), 'VAULT', 'AccessDeniedException');
  });

  it('a stale document (older than 5 minutes)', async () => {
    const stale = { attest: (r: { publicKey?: Uint8Array }) => f.enclave.attest(r, new Date(Date.now() - 6 * 60 * 1000)) };
    await rejectsWith(f.client({ attester: stale }).decrypt(blob, CONTEXT), 'VAULT', 'AccessDeniedException');
  });

  it('a document without public_key, or with a short RSA key', async () => {
    await rejectsWith(f.client({ attester: { attest: () => f.enclave.attest({}) } }).decrypt(blob, CONTEXT), 'VAULT', 'ValidationException');
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'der' });
    await rejectsWith(f.client({ attester: { attest: () => f.enclave.attest({ publicKey: small }) } }).decrypt(blob, CONTEXT), 'VAULT', 'ValidationException');
  });

  it('a tampered blob, and a wrong encryption context', async () => {
    const tampered = Buffer.from(blob);
    tampered[tampered.length - 1]! ^= 1;
    await rejectsWith(f.client().decrypt(tampered, CONTEXT), 'VAULT', 'InvalidCiphertextException');
    await rejectsWith(f.client().decrypt(blob, { ...CONTEXT, vault: 'v2' }), 'VAULT', 'InvalidCiphertextException');
    await rejectsWith(f.client().decrypt(blob, {}), 'VAULT', 'InvalidCiphertextException');
  });

  it('a wrong SigV4 secret', async () => {
    await rejectsWith(f.client({ secret: 'not-the-secret' }).encrypt(Buffer.from('x'), CONTEXT), 'VAULT', 'InvalidSignatureException');
  });

  it('an unknown access key', async () => {
    const sdk = new KMSClient({ region: 'us-east-1', endpoint: f.service.url, credentials: { ...CREDENTIALS, accessKeyId: 'AKIDOTHER' }, requestHandler: { httpsAgent: { ca: f.service.ca } } });
    try {
      await assert.rejects(sdk.send(new DecryptCommand({ CiphertextBlob: blob })), { name: 'UnrecognizedClientException' });
    } finally {
      sdk.destroy();
    }
  });

  it('a TLS 1.2 client', async () => {
    const { port } = new URL(f.service.url);
    await assert.rejects(new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: Number(port), ca: f.service.ca, maxVersion: 'TLSv1.2' }, () => resolve(socket.end()));
      socket.once('error', reject);
    }));
  });

  it('an unreachable service is STORAGE, not a refusal', async () => {
    await rejectsWith(f.client({ endpoint: 'https://127.0.0.1:1' }).encrypt(Buffer.from('x'), CONTEXT), 'STORAGE');
  });
});

describe('a genuine document replayed by an attacker', () => {
  it('gets an answer sealed to the enclave key, which the attacker cannot open', async () => {
    const blob = await f.client().encrypt(Buffer.from('the HSM PIN'), CONTEXT);
    const enclaveKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const captured = f.enclave.attest({ publicKey: enclaveKey.publicKey.export({ type: 'spki', format: 'der' }) });
    // The host relays the enclave's traffic: it can replay the document with its own credentials...
    const sdk = new KMSClient({ region: 'us-east-1', endpoint: f.service.url, credentials: CREDENTIALS, requestHandler: { httpsAgent: { ca: f.service.ca } } });
    try {
      const out = await sdk.send(new DecryptCommand({
        CiphertextBlob: blob, EncryptionContext: CONTEXT, Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: captured },
      }));
      // ...but no plaintext comes back, and its own key does not open the envelope.
      assert.equal(out.Plaintext, undefined);
      const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      assert.throws(() => openRecipientEnvelope(out.CiphertextForRecipient!, attacker), { code: 'AUTH_FAILED' });
      assert.deepEqual(openRecipientEnvelope(out.CiphertextForRecipient!, enclaveKey.privateKey), Buffer.from('the HSM PIN'));
    } finally {
      sdk.destroy();
    }
  });
});
