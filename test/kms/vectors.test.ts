// Fixed vectors: the CMS recipient envelope (fixed CEK, IV and OAEP seed) and the key service's CiphertextBlob
// must come out byte-identical and open (or fail) as the vector says.
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { test } from 'node:test';
import { openRecipientEnvelope, sealRecipientEnvelope } from '../../src/kms/cms.js';
import { openBlob, parseBlob, sealBlob } from '../../src/kms/simulated/blob.js';
import { fixedRandom, loadVectors } from './vector-kit.js';

const vectors = loadVectors();
const hex = (s: string) => Buffer.from(s, 'hex');

test('envelope vectors: sealing reproduces them byte for byte, opening gives the plaintext or the expected error', () => {
  assert.equal(vectors.envelopes.length, 3);
  for (const v of vectors.envelopes) {
    const key = createPrivateKey(v.private_key_pkcs8_pem);
    if (v.expect === 'success') {
      const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
      assert.equal(sealRecipientEnvelope(hex(v.plaintext), spki, fixedRandom(v.random)).toString('hex'), v.envelope, v.name);
      assert.equal(openRecipientEnvelope(hex(v.envelope), key).toString('hex'), v.plaintext, v.name);
    } else assert.throws(() => openRecipientEnvelope(hex(v.envelope), key), { code: v.expect }, v.name);
  }
});

test('blob vectors (docs/kms.md format 1): sealing reproduces them, opening checks the context', () => {
  assert.equal(vectors.blobs.length, 3);
  for (const v of vectors.blobs) {
    assert.equal(sealBlob(hex(v.material), v.key_id, hex(v.plaintext), v.seal_context, hex(v.nonce)).toString('hex'), v.blob, v.name);
    const parts = parseBlob(hex(v.blob));
    assert.equal(parts.keyId, v.key_id);
    if (v.expect === 'success') assert.equal(openBlob(hex(v.material), parts, v.context).toString('hex'), v.plaintext, v.name);
    else assert.throws(() => openBlob(hex(v.material), parts, v.context), { code: v.expect }, v.name);
  }
});

test('blob parsing refuses another format version, bad magic and truncation as CORRUPT', () => {
  const blob = hex(vectors.blobs[0]!.blob);
  const version = Buffer.from(blob);
  version[4] = 2;
  const magic = Buffer.from(blob);
  magic[0] ^= 1;
  for (const bad of [version, magic, blob.subarray(0, 50), Buffer.alloc(0)]) assert.throws(() => parseBlob(bad), { code: 'CORRUPT' });
});
