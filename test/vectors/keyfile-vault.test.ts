/**
 * test/vectors/keyfile-vault.json (docs/format.md "Keys", version 3): the
 * version 3 recovery key file opens to K with its AAD as documented (checked
 * with node:crypto alone), a version 1 file of an earlier build with the
 * unauthenticated field keeps opening, and each mutation has its outcome.
 */
import assert from 'node:assert/strict';
import { createDecipheriv, hkdfSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { load, mutate, outcome } from './keyfile-vault-kit.js';

const v = load();

describe('key file version 3 vectors', () => {
  it('the version 3 file opens, and its documented AAD is what authenticates it', async () => {
    assert.equal(await outcome(v.v3.text), 'ok');
    const f = JSON.parse(v.v3.text) as { kdf: { salt: string }; data: string };
    const kek = Buffer.from(hkdfSync('sha256', Buffer.from(v.recovery_code), Buffer.from(f.kdf.salt, 'base64'), 'ebak/v1/recovery-key', 32));
    const data = Buffer.from(f.data, 'base64');
    const d = createDecipheriv('aes-256-gcm', kek, data.subarray(0, 12));
    d.setAAD(Buffer.from(v.v3.aad));
    d.setAuthTag(data.subarray(-16));
    assert.equal(Buffer.concat([d.update(data.subarray(12, -16)), d.final()]).toString('hex'), v.key);
  });

  it('a version 1 file with the unauthenticated vault field keeps opening', async () => {
    assert.equal(await outcome(v.v1_with_vault.text), 'ok');
  });

  for (const m of v.mutations) it(`mutation: ${m.name} → ${m.expect}`, async () => assert.equal(await outcome(mutate(v.v3.text, m)), m.expect));
});
