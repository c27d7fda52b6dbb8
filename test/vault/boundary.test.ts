/**
 * The vault's trust boundary (issue 12), attacked as the host would: with
 * everything the host holds — the state database, the SoftHSM token and its
 * PIN, the key service's API and credentials — and without what stands in for
 * the platform (the dev CA's keys = the Nitro hypervisor, the key service's
 * key files = KMS's HSMs).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import * as opaque from '@serenity-kit/opaque';
import { DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { SimulatedNsm } from '../../src/attestation/index.js';
import { isEbakError } from '../../src/errors.js';
import { Pkcs11Hsm, unseal } from '../../src/hsm/index.js';
import { VaultError } from '../../src/vault/client/errors.js';
import { ROOT_ID } from '../../src/vault/enclave/root.js';
import { K, KS_CREDENTIALS, RECOVERY, lab, type Lab, type Running } from './helpers.js';

const PASSWORD = 'correct horse battery staple';

// One lab per process: SoftHSM reads its configuration once.
let l: Lab;
before(async () => {
  l = await lab();
});
after(() => l.cleanup());

describe('vault trust boundary: registration cannot be harvested', () => {
  let v: Running;
  before(async () => {
    await opaque.ready;
    v = await l.start();
  });
  after(() => v.stop());

  /** The OPRF evaluation of one blinded element: the first 32 bytes of a registration response or a KE2. */
  const evaluated = (b64: string) => Buffer.from(b64, 'base64url').subarray(0, 32).toString('hex');

  it('OPRF evaluations obtained before the owner registers match nothing the registered account answers', async () => {
    const c = await v.client();
    // The attacker blinds guesses and asks register/start for the victim's predictable name, uncounted.
    const guesses = ['123456', 'password', PASSWORD];
    const harvested = [];
    for (const g of guesses) {
      const start = opaque.client.startRegistration({ password: g });
      const r = await c.channel.call<{ response: string }>('POST', '/v1/register/start', { account: 'victim', request: start.registrationRequest });
      harvested.push({ blinded: start.registrationRequest, evaluation: evaluated(r.response) });
    }
    await c.register('victim', PASSWORD, K, RECOVERY, 'laptop');
    // After registration, one counted login start per harvested element: the same blinded element, evaluated under the victim's key.
    let matches = 0;
    for (const h of harvested) {
      const ke1 = Buffer.concat([Buffer.from(h.blinded, 'base64url'), Buffer.from(opaque.client.startLogin({ password: 'x' }).startLoginRequest, 'base64url').subarray(32)]);
      const ke2 = await c.channel.call<{ response: string }>('POST', '/v1/login/start', { account: 'victim', request: ke1.toString('base64url') });
      if (evaluated(ke2.response) === h.evaluation) matches++;
    }
    assert.equal(matches, 0, 'a harvested evaluation equals the registered key\'s: guesses could be checked offline');
  });

  it('register/finish needs the ticket of its own start: another account\'s ticket or an altered one is refused', async () => {
    const c = await v.client();
    const start = opaque.client.startRegistration({ password: 'pw' });
    const r = await c.channel.call<{ response: string; ticket: string }>('POST', '/v1/register/start', { account: 'tom', request: start.registrationRequest });
    const fin = opaque.client.finishRegistration({ password: 'pw', registrationResponse: r.response, clientRegistrationState: start.clientRegistrationState });
    const body = { record: fin.registrationRecord, envelope: 'AQ', unlock_hash: '0'.repeat(64), device: 'd' };
    for (const [account, ticket] of [['jerry', r.ticket], ['tom', r.ticket.slice(0, -2) + (r.ticket.at(-2) === 'A' ? 'B' : 'A') + r.ticket.slice(-1)]]) {
      await assert.rejects(c.channel.call('POST', '/v1/register/finish', { ...body, account, ticket }), (e) => e instanceof VaultError && e.vaultCode === 'forbidden');
    }
  });
});

describe('vault trust boundary: the host cannot guess offline', () => {
  let v: Running;
  let db: Database.Database;
  const row = (id: string) => db.prepare('SELECT version, sealed FROM records WHERE id = ?').get(id) as { version: number; sealed: Buffer };
  before(async () => {
    v = await l.start();
    await (await v.client()).register('alice', PASSWORD, K, RECOVERY, 'laptop');
    db = new Database(join(l.dir, 'state.db'), { readonly: true });
  });
  after(() => db.close());

  it('with the state database, the token and its PIN, no sealed record opens: not the OPAQUE setup, not an account', async () => {
    const hsm = await Pkcs11Hsm.open(l.token.config('vault')); // the host's own session, with the PIN
    try {
      for (const id of ['opaque/setup', 'acct/alice', 'audit/head']) {
        const r = row(id);
        // As the old vault sealed them (HSM only), and with a guessed binding key: both refused.
        await assert.rejects(unseal(hsm, r.sealed, { id, version: r.version }), (e) => isEbakError(e, 'AUTH_FAILED'), id);
        await assert.rejects(unseal(hsm, r.sealed, { id, version: r.version }, { bind: Buffer.alloc(32) }), (e) => isEbakError(e, 'AUTH_FAILED'), id);
      }
    } finally {
      await hsm.close();
    }
  });

  it("the key service's API does not give the host the enclave root: no attestation, another image's attestation, a replayed one", async () => {
    const blob = row(ROOT_ID).sealed;
    const context = { 'ebak:purpose': 'vault-root', 'ebak:format': '1' };
    // 1. Without Recipient (the host calls KMS itself, with the API credentials).
    await assert.rejects(decryptWithout(l, blob, context), (e) => (e as Error).name === 'AccessDeniedException');
    // 2. A genuine enclave running other code (signed by the real attestation root, other PCR0): refused by the key policy.
    const other = new SimulatedNsm(l.ca, { bundle: Buffer.from('the host operator\'s own enclave image') });
    await assert.rejects(l.kms(other).decrypt(blob, context), (e) => isEbakError(e, 'VAULT') && /AccessDenied/.test(e.message));
    // 3. A genuine document captured from the vault, replayed: the answer is encrypted to the vault's RSA key, not the host's.
    const captured = l.nsm.attest({ publicKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'der' }) });
    await assert.rejects(l.kms({ attest: () => captured }).decrypt(blob, context), (e) => isEbakError(e) && ['AUTH_FAILED', 'CORRUPT', 'VAULT'].includes(e.code));
  });

  it('so OPAQUE cannot be evaluated offline: a vault on the same state with another image (or no key service) does not start', async () => {
    await assert.rejects(l.start({ attester: new SimulatedNsm(l.ca, { bundle: Buffer.from('other image') }), keyService: l.kms(new SimulatedNsm(l.ca, { bundle: Buffer.from('other image') })) }), (e) => isEbakError(e, 'VAULT'));
  });

  it('a truncated audit tail cannot be resealed: the restarted vault refuses its state', async () => {
    await v.stop();
    const w = new Database(join(l.dir, 'state.db'));
    try {
      const last = (w.prepare('SELECT max(seq) AS s FROM audit').get() as { s: number }).s;
      w.prepare('DELETE FROM audit WHERE seq = ?').run(last);
    } finally {
      w.close();
    }
    await assert.rejects(l.start(), (e) => isEbakError(e, 'VAULT') && /audit/.test(e.message));
  });
});

/** KMS Decrypt without Recipient, as the host with the API credentials would send it. */
async function decryptWithout(l: Lab, blob: Buffer, context: Record<string, string>): Promise<unknown> {
  const client = new KMSClient({
    region: 'us-east-1', endpoint: l.keyService.url, credentials: KS_CREDENTIALS,
    requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca: l.keyService.ca }) }),
  });
  try {
    return await client.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: context, KeyId: l.keyId }));
  } finally {
    client.destroy();
  }
}

